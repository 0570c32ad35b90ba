"""The official sample file goes through unchanged in meaning; delimiters and encodings around it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from airflow_provider_metrika.simple_orders import md5_hex

from .helpers import OFFICIAL_SAMPLE, part_dicts, part_rows, prepare_text

HEADER = OFFICIAL_SAMPLE.splitlines()[0].split(",")
EXPECTED = [
    dict(zip(HEADER, values, strict=True))
    for values in [
        ("s_ord1", "2024-01-10 11:56:00", "s_user1", "", "mail@example.com,mail2@example.com", "", "PAID",
         "200", "150", "oplata_cash:200,filial_1", ""),
        ("s_ord2", "2024-01-20 11:59:00", "", "12345", "mail3@example.com", "", "", "200", "150", "", "EUR"),
        ("", "2024-02-12", "", "34456", "", "79876543210", "SPAM", "", "", "plohoy_lead", ""),
    ]
]  # fmt: skip


def test_official_sample_keeps_every_value_and_rewrites_dates(tmp_path: Path) -> None:
    result = prepare_text(OFFICIAL_SAMPLE, tmp_path)

    assert part_dicts(result) == EXPECTED
    assert result.report.rows_read == result.report.rows_written == 3


def test_official_sample_keeps_header_order_and_quotes_only_multi_value_cells(tmp_path: Path) -> None:
    result = prepare_text(OFFICIAL_SAMPLE, tmp_path)

    lines = result.parts[0].path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == OFFICIAL_SAMPLE.splitlines()[0]
    assert lines[1] == (
        's_ord1,2024-01-10 11:56:00,s_user1,,"mail@example.com,mail2@example.com",,PAID,200,150,'
        '"oplata_cash:200,filial_1",'
    )
    assert lines[3] == ",2024-02-12,,34456,,79876543210,SPAM,,,plohoy_lead,"


def test_part_is_utf8_without_bom_and_its_size_and_sha256_are_reported(tmp_path: Path) -> None:
    import hashlib

    [part] = prepare_text(OFFICIAL_SAMPLE, tmp_path).parts

    content = part.path.read_bytes()
    assert not content.startswith(b"\xef\xbb\xbf")
    assert part.bytes == len(content)
    assert part.sha256 == hashlib.sha256(content).hexdigest()
    assert (part.rows, part.rows_without_id) == (3, 1)


def test_hashing_writes_md5_columns_instead_of_raw_emails_and_phones(tmp_path: Path) -> None:
    result = prepare_text(OFFICIAL_SAMPLE, tmp_path, hash_identifiers=True)

    rows = part_dicts(result)
    assert "emails" not in rows[0]
    assert "phones" not in rows[0]
    assert rows[0]["emails_md5"] == f"{md5_hex('mail@example.com')},{md5_hex('mail2@example.com')}"
    assert rows[2]["phones_md5"] == md5_hex("79876543210")
    assert rows[2]["emails_md5"] == ""
    assert "mail@example.com" not in result.parts[0].path.read_text()


def test_semicolon_input_is_detected_and_semicolon_output_is_written(tmp_path: Path) -> None:
    semicolon = "\n".join(";".join(row) for row in csv.reader(io.StringIO(OFFICIAL_SAMPLE))).replace(
        "mail@example.com;mail2@example.com", '"mail@example.com,mail2@example.com"'
    )
    semicolon = semicolon.replace("oplata_cash:200;filial_1", '"oplata_cash:200,filial_1"') + "\n"

    result = prepare_text(semicolon, tmp_path, delimiter="SEMICOLON")

    text = result.parts[0].path.read_text()
    assert text.splitlines()[0] == OFFICIAL_SAMPLE.splitlines()[0].replace(",", ";")
    assert '"mail@example.com,mail2@example.com"' in text
    assert part_dicts(result, delimiter=";") == EXPECTED


def test_utf8_bom_before_the_header_is_ignored(tmp_path: Path) -> None:
    result = prepare_text(b"\xef\xbb\xbf" + OFFICIAL_SAMPLE.encode(), tmp_path)

    assert part_rows(result)[0][0] == "id"
    assert part_dicts(result) == EXPECTED


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_crlf_and_lf_inputs_give_the_same_parts(tmp_path: Path, newline: str) -> None:
    result = prepare_text(OFFICIAL_SAMPLE.replace("\n", newline), tmp_path)

    assert part_dicts(result) == EXPECTED


def test_path_input_reads_the_same_as_a_stream(tmp_path: Path) -> None:
    from airflow_provider_metrika.simple_orders import prepare_simple_orders

    path = tmp_path / "orders.csv"
    path.write_text(OFFICIAL_SAMPLE, encoding="utf-8")

    result = prepare_simple_orders(str(path), tmp_path / "out", timezone="Europe/Moscow")

    assert part_dicts(result) == EXPECTED


def test_the_report_counts_the_orders_naming_each_goal_once_per_order(tmp_path: Path) -> None:
    # Metrika's sample: "oplata_cash:200,filial_1" on one order, "plohoy_lead" on another; a third
    # order names filial_1 twice and oplata_cash with another price.
    extra = 's_ord9,21.01.2024 10:00,,,mail9@example.com,,,200,,"filial_1,oplata_cash:50,filial_1",\n'
    result = prepare_text(OFFICIAL_SAMPLE + extra, tmp_path)

    assert result.report.goal_counts == {"filial_1": 2, "oplata_cash": 2, "plohoy_lead": 1}
    assert result.report.to_dict()["goal_counts"] == result.report.goal_counts
