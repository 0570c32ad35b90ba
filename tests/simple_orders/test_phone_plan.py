"""Phones checked against the numbering plan: mistakes refused, unlikely numbers warned, none rewritten."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from airflow_provider_metrika.simple_orders import InvalidOrdersError, normalize_phone
from airflow_provider_metrika.simple_orders.phone_plan import (
    REASON_INTERNATIONAL_PREFIX,
    REASON_NANP,
    REASON_RUSSIAN_INTERNATIONAL_PREFIX,
    REASON_SEVEN_LENGTH,
    REASON_TRUNK_AFTER_CODE,
    REASON_TRUNK_PREFIX,
)

from .helpers import one_column_csv, part_dicts, prepare_text

REFUSED = [
    ("0049 30 7654321", REASON_INTERNATIONAL_PREFIX),
    ("00 7 916 123-45-67", REASON_INTERNATIONAL_PREFIX),
    ("030 7654321", REASON_TRUNK_PREFIX),
    ("810 7 916 123 45 67", REASON_RUSSIAN_INTERNATIONAL_PREFIX),
    ("8 10 49 30 7654321", REASON_RUSSIAN_INTERNATIONAL_PREFIX),
    ("+81 03 1234 5678", REASON_RUSSIAN_INTERNATIONAL_PREFIX),
    ("810 123 45 67", REASON_RUSSIAN_INTERNATIONAL_PREFIX),
    ("+7 8 916 123-45-67", REASON_SEVEN_LENGTH),
    ("77 916 123 45 67", REASON_SEVEN_LENGTH),
    ("7 7 916 123 45 67", REASON_SEVEN_LENGTH),
    ("+7 916 123-45-6", REASON_SEVEN_LENGTH),
    ("+1 1 212 555 0199", REASON_NANP),
    ("+1 212 055 0199", REASON_NANP),
    ("+1 212 555 019", REASON_NANP),
    ("+44 0 20 7946 0123", REASON_TRUNK_AFTER_CODE),
    ("+49 0 30 7654321", REASON_TRUNK_AFTER_CODE),
    ("+353 0 1 234 5678", REASON_TRUNK_AFTER_CODE),
]

KEPT = [
    ("+7 (916) 123-45-67", "79161234567"),
    ("+7 700 123 45 67", "77001234567"),  # Kazakhstan: 7 7xx is not a doubled code
    ("+44 20 7946 0958", "442079460958"),
    ("+49 30 1234567", "49301234567"),
    ("+39 06 1234 5678", "390612345678"),  # Italy keeps its leading 0
    ("+1 212 555 0199", "12125550199"),
    ("+81 3 1234 5678", "81312345678"),
    ("+683 4002", "6834002"),  # Niue: 7 digits, real, warned as short
]


def _rejects(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(("phone", "reason"), REFUSED, ids=[case[0] for case in REFUSED])
def test_a_phone_that_cannot_be_a_real_number_is_refused_with_the_fix(
    tmp_path: Path, phone: str, reason: str
) -> None:
    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(one_column_csv("phones", [phone], identifier=False), tmp_path)

    problem = caught.value.report.examples[0]
    assert (problem.row, problem.column, problem.reason) == (1, "phones", reason)
    assert phone not in str(caught.value)
    with pytest.raises(ValueError, match=re.escape(reason)):
        normalize_phone(phone)


@pytest.mark.parametrize(("phone", "digits"), KEPT, ids=[case[0] for case in KEPT])
def test_a_real_number_is_sent_as_its_digits(tmp_path: Path, phone: str, digits: str) -> None:
    result = prepare_text(one_column_csv("phones", [phone], identifier=False), tmp_path)

    assert part_dicts(result)[0]["phones"] == digits
    assert normalize_phone(phone) == digits


def test_a_prefix_mistake_is_refused_before_leading_8_could_rewrite_it(tmp_path: Path) -> None:
    text = one_column_csv("phones", ["8 10 123 45 67 8", "8 916 123 45 67"], identifier=False)

    result = prepare_text(text, tmp_path, rewrite_leading_8=True, on_invalid="skip", max_invalid_fraction=1)

    assert [row["phones"] for row in part_dicts(result)] == ["79161234567"]
    rejected = _rejects(tmp_path / "rejects.csv")
    assert [(row["_row"], row["phones"]) for row in rejected] == [("1", "8 10 123 45 67 8")]
    assert REASON_RUSSIAN_INTERNATIONAL_PREFIX in rejected[0]["_reasons"]


def test_unlikely_phones_are_sent_unchanged_with_a_masked_warning(tmp_path: Path) -> None:
    phones = ["+28 123 456 789", "555 11 22", "+44 44 20 7946 0958", "+7 916 123-45-67", "8999555111"]
    result = prepare_text(one_column_csv("phones", phones, identifier=False), tmp_path)

    assert [row["phones"] for row in part_dicts(result)] == [
        "28123456789",
        "5551122",
        "44442079460958",
        "79161234567",
        "8999555111",
    ]
    warnings = {warning.kind: warning for warning in result.report.warnings}
    suspicious = warnings["suspicious_phones"]
    assert suspicious.count == 4
    assert [example.split(":")[0] for example in suspicious.examples] == ["row 1", "row 2", "row 3", "row 5"]
    shown = " ".join(suspicious.examples)
    assert "123 456" not in shown
    assert "7946" not in shown
    assert "country code" in suspicious.message
    assert "+49 30 ..." in suspicious.fix


def test_russian_domestic_numbers_keep_their_own_warning_only(tmp_path: Path) -> None:
    result = prepare_text(one_column_csv("phones", ["8 916 123-45-67"], identifier=False), tmp_path)

    assert part_dicts(result)[0]["phones"] == "89161234567"
    kinds = [warning.kind for warning in result.report.warnings]
    assert "domestic_phones" in kinds
    assert "suspicious_phones" not in kinds


def test_hashed_phones_are_checked_before_hashing(tmp_path: Path) -> None:
    text = one_column_csv("phones", ["0049 30 1234567", "+49 30 1234567"], identifier=False)

    result = prepare_text(text, tmp_path, hash_identifiers=True, on_invalid="skip", max_invalid_fraction=1)

    assert len(part_dicts(result)) == 1
    assert result.report.rejected_by_reason == {f"phones: {REASON_INTERNATIONAL_PREFIX}": 1}


def test_several_phones_in_a_cell_are_each_checked(tmp_path: Path) -> None:
    text = one_column_csv("phones", ['"+7 916 123-45-67, +44 0 20 7946 0958"'], identifier=False)

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    assert caught.value.report.rejected_by_reason == {f"phones: {REASON_TRUNK_AFTER_CODE}": 1}


def test_leading_8_is_not_rewritten_where_no_russian_number_could_start(tmp_path: Path) -> None:
    text = one_column_csv("phones", ["+81 3 1234 5678", "8 916 123 45 67"], identifier=False)

    plain = prepare_text(text, tmp_path / "plain")
    rewritten = prepare_text(text, tmp_path / "rewritten", rewrite_leading_8=True)

    assert [row["phones"] for row in part_dicts(rewritten)] == ["81312345678", "79161234567"]
    assert normalize_phone("+81 3 1234 5678", rewrite_leading_8=True) == "81312345678"
    domestic = {warning.kind: warning.count for warning in plain.report.warnings}["domestic_phones"]
    assert domestic == 1
