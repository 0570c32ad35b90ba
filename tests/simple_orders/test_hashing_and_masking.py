"""MD5 test vectors and the vectorised MD5; email/phone normalisation helpers; PII masking."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import (
    InvalidOrdersError,
    mask_email,
    mask_phone,
    mask_value,
    md5_hex,
    normalize_email,
    normalize_phone,
)
from airflow_provider_metrika.simple_orders import duplicates as duplicates_module
from airflow_provider_metrika.simple_orders.hashing import md5_array

from .helpers import one_column_csv, part_dicts, prepare_text


def test_documented_md5_test_vectors_hold() -> None:
    assert md5_hex("mail@yandex.ru") == "3c56ff8fef0f6c65b36b2d25720fe276"
    assert md5_hex("79995551111") == "f09f2c3d48f31e2a802944ade2e5aec5"
    assert md5_array(pa.array(["mail@yandex.ru", "79995551111"])).to_pylist() == [
        "3c56ff8fef0f6c65b36b2d25720fe276",
        "f09f2c3d48f31e2a802944ade2e5aec5",
    ]


def test_vectorised_md5_equals_hashlib_for_any_length_and_script() -> None:
    rng = random.Random(5)
    alphabet = "abcxyz0189@._-+ЖжЯяé"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120))) for _ in range(20_000)]
    values += ["x" * length for length in range(50, 60)]  # around the one-block limit of 55 bytes

    hashed = md5_array(pa.array(values).slice(3))

    assert hashed.to_pylist() == [hashlib.md5(value.encode()).hexdigest() for value in values[3:]]


def test_hashed_phones_use_the_normalised_number(tmp_path: Path) -> None:
    result = prepare_text(one_column_csv("phones", ["+7 (999) 555-11-11"], identifier=False), tmp_path,
                          hash_identifiers=True)  # fmt: skip

    assert part_dicts(result)[0]["phones_md5"] == "f09f2c3d48f31e2a802944ade2e5aec5"


def test_hashing_merges_with_an_existing_md5_column(tmp_path: Path) -> None:
    text = "create_date_time,emails,emails_md5\n10.01.2024,Mail@Yandex.ru,F09F2C3D48F31E2A802944ADE2E5AEC5\n"

    result = prepare_text(text, tmp_path, hash_identifiers=True)

    assert part_dicts(result) == [
        {
            "create_date_time": "2024-01-10",
            "emails_md5": "3c56ff8fef0f6c65b36b2d25720fe276,f09f2c3d48f31e2a802944ade2e5aec5",
        }
    ]
    assert (
        '"3c56ff8fef0f6c65b36b2d25720fe276,f09f2c3d48f31e2a802944ade2e5aec5"'
        in result.parts[0].path.read_text()
    )


def test_normalize_helpers_follow_the_documented_rules() -> None:
    assert normalize_email("  Mail@Yandex.RU ") == "mail@yandex.ru"
    assert normalize_phone("+7 (999) 555-11-11") == "79995551111"
    assert normalize_phone("8 999 555 11 11", rewrite_leading_8=True) == "79995551111"
    assert normalize_phone("8 999 555 11 11") == "89995551111"
    with pytest.raises(ValueError, match="is not a valid email"):
        normalize_email("mail@localhost")
    with pytest.raises(ValueError, match="is not a valid phone"):
        normalize_phone("555-11")


def test_masks_hide_personal_data_but_keep_enough_to_find_it() -> None:
    assert mask_email("mail@example.com") == "m***@example.com"
    assert mask_email("no-at-sign") == "n***"
    assert mask_phone("79995551111") == "79*******11"
    assert mask_phone("123") == "***"
    assert mask_value("a@b.ru,c@d.ru", "emails") == "a***@b.ru,c***@d.ru"
    assert mask_value("79995551111,79995552222", "phones") == "79*******11,79*******22"
    assert mask_value("user@example.com", "client_uniq_id") == "u***@example.com"
    assert mask_value("x" * 200, "id") == "x" * 77 + "..."


def test_customer_values_are_masked_whatever_column_they_sit_in() -> None:
    assert mask_value("12345", "client_ids") == "12*45"
    assert mask_value("79995551111", "client_uniq_id") == "79*******11"
    assert mask_value("+7 999 555-11-11", "client_uniq_id") == "+7************11"
    assert mask_value("u@example.com", "client_ids") == "u***@example.com"
    assert mask_value("89995551111", "revenue") == "89*******11", "a phone in a number column"
    assert mask_value("+7 (999) 555-11-11", "order_status") == "+7**************11"
    assert mask_value("a@b.ru", "goals") == "a***@b.ru"
    assert mask_value("1704880560", "create_date_time") == "1704880560", "a Unix time stays readable"
    assert mask_value("DONE!", "order_status") == "DONE!"
    assert mask_value("12 руб", "revenue") == "12 руб"


def test_errors_and_reports_show_masked_personal_data_only(tmp_path: Path) -> None:
    text = "create_date_time,emails,phones\n10.01.2024,secret.person@mail.ru,+7 999 555-11-1X\n"

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    message = str(caught.value) + caught.value.report.as_text() + str(caught.value.report.to_dict())
    assert "secret.person" not in message
    assert "555-11" not in message
    assert '"+7************1X"' in message


def test_hash_collisions_never_report_false_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates_module, "hash64", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    text = one_column_csv("client_ids", ["1", "2", "3"])

    result = prepare_text(text, tmp_path)

    assert result.report.duplicate_ids == 0
    assert result.report.rows_written == 3


def test_a_phone_or_email_mapped_into_client_ids_is_masked_in_errors_and_reports(tmp_path: Path) -> None:
    text = (
        "id,create_date_time,client_ids\n"
        'm-1,10.01.2024,"+7 (916) 123-45-67"\n'
        "m-2,10.01.2024,olga.secret@mail.ru\n"
    )

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    message = str(caught.value) + caught.value.report.as_text() + str(caught.value.report.to_dict())
    assert "123-45" not in message
    assert "olga.secret" not in message
    assert '"+7**************67"' in message
    assert '"o***@mail.ru"' in message


def test_hashed_phones_beside_a_phones_md5_column_keep_every_row_when_both_are_empty(tmp_path: Path) -> None:
    text = (
        "create_date_time,emails,phones,phones_md5\n"
        "10.01.2024,a@example.com,,\n"
        "10.01.2024,b@example.com,79995551111,\n"
        "10.01.2024,c@example.com,,f09f2c3d48f31e2a802944ade2e5aec5\n"
        "10.01.2024,d@example.com,,\n"
    )

    result = prepare_text(text, tmp_path, hash_identifiers=True)

    phones = [row["phones_md5"] for row in part_dicts(result)]
    assert phones == ["", "f09f2c3d48f31e2a802944ade2e5aec5", "f09f2c3d48f31e2a802944ade2e5aec5", ""]
