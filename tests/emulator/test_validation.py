"""The simplified orders file rules, checked without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.constants import MAX_VALIDATION_ERRORS
from airflow_provider_metrika.emulator.validation import (
    check_cell,
    check_create_date_time,
    iter_records,
    validate_file,
)
from tests.emulator.helpers import SAMPLE_CSV, csv_bytes


def _validate(tmp_path: Path, content: bytes, delimiter: str = ","):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    return validate_file(path, delimiter)


@pytest.mark.parametrize(
    "value",
    [
        "10.01.2024",
        "10.01.24",
        "2024-01-10",
        "10.01.2024 11:56",
        "10.01.2024 11:56:07",
        "10.01.24 23:59",
        "2024-01-10 00:00:00",
        "01.01.1970",
    ],
)
def test_documented_date_formats_are_accepted(value: str) -> None:
    assert check_create_date_time(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "required"),
        ("2024-01-10T11:56:00", '"T" separator'),
        ("2024-01-10 11:56:00+03:00", "not an accepted date"),
        ("2024-01-10 11:56Z", "not an accepted date"),
        ("1704880560", "not an accepted date"),
        ("1.1.2024", "not an accepted date"),
        ("2024/01/10", "not an accepted date"),
        ("31.02.2024", "not a real calendar date"),
        ("2024-01-10 24:00", "not a real calendar date"),
        ("31.12.1969 23:59", "before 1970-01-01"),
    ],
)
def test_undocumented_or_impossible_dates_are_rejected(value: str, expected: str) -> None:
    problem = check_create_date_time(value)
    assert problem is not None
    assert expected in problem


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("emails", "mail@example.com"),
        ("emails", "mail@example.com,mail2@sub.example.ru"),
        ("phones", "79995551111"),
        ("phones", "1234567,123456789012345"),
        ("emails_md5", "3c56ff8fef0f6c65b36b2d25720fe276"),
        ("phones_md5", "f09f2c3d48f31e2a802944ade2e5aec5"),
        ("client_ids", "12345678901234567890"),
        ("order_status", "PAID"),
        ("order_status", "CANCELLED"),
        ("order_status", "my_goal_1"),
        ("revenue", "200"),
        ("cost", "199.99"),
        ("goals", "oplata_cash:200,filial_1"),
        ("goals", "g:0.5"),
        ("currency", "EUR"),
        ("id", "anything, at all"),
        ("client_uniq_id", "user 1"),
        ("revenue", ""),
    ],
)
def test_valid_cells_pass(column: str, cell: str) -> None:
    assert check_cell(column, cell) == []


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        ("emails", "Mail@example.com", "not a valid email"),
        ("emails", "mail@localhost", "not a valid email"),
        ("emails", "mail.example.com", "not a valid email"),
        ("emails", "a@example.com, b@example.com", "no spaces"),
        ("emails", "a@example.com,", "empty value"),
        ("phones", "+79995551111", "not a valid phone"),
        ("phones", "123456", "not a valid phone"),
        ("phones", "1234567890123456", "not a valid phone"),
        ("phones", "7 999 555 11 11", "not a valid phone"),
        ("emails_md5", "3C56FF8FEF0F6C65B36B2D25720FE276", "not an MD5 hash"),
        ("phones_md5", "abc", "not an MD5 hash"),
        ("client_ids", "1.2345e+19", "not a valid ClientID"),
        ("client_ids", "123456789012345678901", "not a valid ClientID"),
        ("order_status", "paid-now", "not an order status"),
        ("revenue", "-1", "not a non-negative plain decimal"),
        ("revenue", "1e5", "not a non-negative plain decimal"),
        ("cost", "1,000", "not a non-negative plain decimal"),
        ("cost", "1 000", "not a non-negative plain decimal"),
        ("goals", "goal-1", "not a goal"),
        ("goals", "goal:1e2", "not a goal"),
        ("currency", "eur", "not a currency code"),
        ("currency", "EURO", "not a currency code"),
    ],
)
def test_invalid_cells_are_named(column: str, cell: str, expected: str) -> None:
    problems = check_cell(column, cell)
    assert len(problems) == 1
    assert expected in problems[0]


def test_official_sample_validates_and_yields_its_three_rows(tmp_path: Path) -> None:
    result = _validate(tmp_path, SAMPLE_CSV)
    assert result.passed, result.errors
    assert result.elements_count == 3
    rows = list(iter_records(tmp_path / "data.csv", ","))
    assert [row["id"] for row in rows] == ["s_ord1", "s_ord2", ""]
    assert rows[0]["emails"] == "mail@example.com,mail2@example.com"


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    result = _validate(tmp_path, b"\xef\xbb\xbf" + SAMPLE_CSV)
    assert result.passed, result.errors
    assert result.columns[0] == "id"


def test_non_utf8_file_fails_with_the_byte_offset(tmp_path: Path) -> None:
    content = "id,create_date_time,emails\n1,10.01.2024,ж@example.com\n".encode("cp1251")
    offset = content.index("ж".encode("cp1251"))
    result = _validate(tmp_path, content)
    assert result.errors == [f"file is not UTF-8: undecodable byte at offset {offset}"]


def test_errors_are_capped(tmp_path: Path) -> None:
    rows = [f"{n},bad-date,bad-email" for n in range(MAX_VALIDATION_ERRORS)]
    result = _validate(tmp_path, csv_bytes("id,create_date_time,emails", *rows))
    assert len(result.errors) == MAX_VALIDATION_ERRORS
    assert result.elements_count == MAX_VALIDATION_ERRORS


def test_header_without_data_rows_fails(tmp_path: Path) -> None:
    result = _validate(tmp_path, csv_bytes("id,create_date_time,emails"))
    assert result.errors == ["file has a header but no data rows"]


def test_blank_lines_are_skipped_and_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    content = csv_bytes("id,create_date_time,emails", "1,10.01.2024,a@example.com", "", "2,bad,b@example.com")
    result = _validate(tmp_path, content)
    assert result.elements_count == 2
    assert result.errors[0].startswith("row 4, column create_date_time:")


def test_quoted_multiline_cell_counts_as_one_row(tmp_path: Path) -> None:
    content = csv_bytes(
        "id,create_date_time,client_uniq_id,emails", '1,10.01.2024,"two\nlines",a@example.com'
    )
    result = _validate(tmp_path, content)
    assert result.passed, result.errors
    assert result.elements_count == 1


def test_duplicate_ids_are_counted_but_accepted(tmp_path: Path) -> None:
    content = csv_bytes(
        "id,create_date_time,emails",
        "1,10.01.2024,a@example.com",
        "1,10.01.2024,b@example.com",
        ",10.01.2024,c@example.com",
        ",10.01.2024,d@example.com",
    )
    result = _validate(tmp_path, content)
    assert result.passed
    assert result.duplicate_ids == 1
