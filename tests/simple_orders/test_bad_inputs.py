"""A catalogue of bad inputs: each names the exact reason, row number and (masked) value reported."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from airflow_provider_metrika.simple_orders import (
    InvalidOrdersError,
    OrdersInputError,
    RowProblem,
    prepare_simple_orders,
)

from .helpers import OFFICIAL_SAMPLE, TIMEZONE, one_column_csv, part_rows, prepare_text

DATE_FORMAT = (
    "is not a date in a supported format (dd.MM.yyyy, dd.MM.yy or yyyy-MM-dd, optionally with HH:mm "
    "or HH:mm:ss; or ISO 8601)"
)
DATE_RANGE = "is not a real date or time (day, month, hour, minute or second out of range)"
PRE_1970 = "is before 1970-01-01, which Metrika does not accept"
EMAIL = "is not a valid email (must contain @ and a domain)"
PHONE = "is not a valid phone (after removing +, spaces, brackets, dashes and dots it must be 7 to 15 digits)"
CLIENT_ID = "is not a valid ClientID (digits only)"
NO_IDENTIFIER = "has no identifier: fill at least one of client_ids, emails, phones, emails_md5, phones_md5"
NEGATIVE = "is negative (must be 0 or more)"
NOT_DECIMAL = (
    "is not a decimal number (digits with . as the decimal point; no spaces, thousands separators "
    'or currency signs; for 4590,50 or 1 299,99 pass decimal=",")'
)
GOALS = (
    "is not a goals list (goal_id or goal_id:price, comma-separated; goal ids of letters, digits and _, "
    "prices non-negative with . as the decimal point)"
)
CURRENCY = "is not a 3-letter currency code (e.g. RUB, EUR, USD)"
STATUS = "is not an order status (PAID, IN_PROGRESS, CANCELLED, SPAM) or a goal id (letters, digits, _)"
MD5 = "is not an MD5 hash (32 hexadecimal digits)"
GOOD = {
    "create_date_time": "10.01.2024 11:56",
    "emails": "mail@example.com",
    "phones": "79995551111",
    "client_ids": "12345",
    "revenue": "100",
    "cost": "50",
    "goals": "g1",
    "currency": "EUR",
    "order_status": "PAID",
    "emails_md5": "3c56ff8fef0f6c65b36b2d25720fe276",
    "phones_md5": "f09f2c3d48f31e2a802944ade2e5aec5",
}

# (column, bad cell as written in the CSV, expected reason, expected value shown in the problem)
ROW_CASES = [
    ("create_date_time", "2024/01/10", DATE_FORMAT, "2024/01/10"),
    ("create_date_time", "1704880560", DATE_FORMAT, "1704880560"),
    ("create_date_time", "10.01.2024T11:56", DATE_FORMAT, "10.01.2024T11:56"),
    ("create_date_time", "31.02.2024", DATE_RANGE, "31.02.2024"),
    ("create_date_time", "10.01.2024 25:00", DATE_RANGE, "10.01.2024 25:00"),
    ("create_date_time", "31.12.1969 23:59", PRE_1970, "31.12.1969 23:59"),
    ("create_date_time", "1970-01-01T00:00:00+05:00", PRE_1970, "1970-01-01T00:00:00+05:00"),
    ("create_date_time", "", "is empty: create_date_time is required", ""),
    ("emails", "mail.example.com", EMAIL, "m***"),
    ("emails", "mail@localhost", EMAIL, "m***@localhost"),
    ("emails", '"good@example.com, broken"', EMAIL, "g***@example.com,b***"),
    ("phones", "12345", PHONE, "12*45"),
    ("phones", "+7 999 ABC-11-11", PHONE, "+7************11"),
    ("phones", "7999555111122223", PHONE, "79************23"),
    ("client_ids", "12a45", CLIENT_ID, "12*45"),
    ("client_ids", "1.2e+18", CLIENT_ID, "1.***18"),
    ("revenue", "-5", NEGATIVE, "-5"),
    ("revenue", "1 200.50", NOT_DECIMAL, "1 200.50"),
    ("revenue", '"12,5"', NOT_DECIMAL, "12,5"),
    ("revenue", "12 руб", NOT_DECIMAL, "12 руб"),
    ("cost", "-0.01", NEGATIVE, "-0.01"),
    ("goals", '"goal one:100"', GOALS, "goal one:100"),
    ("goals", "g1:-5", GOALS, "g1:-5"),
    ("currency", "RUBL", CURRENCY, "RUBL"),
    ("currency", "€", CURRENCY, "€"),
    ("order_status", "DONE!", STATUS, "DONE!"),
    ("emails_md5", "xyz", MD5, "***"),
    ("phones_md5", "f09f2c3d48f31e2a802944ade2e5aec50", MD5, "f0" + "*" * 29 + "50"),
]


@pytest.mark.parametrize(
    ("column", "cell", "reason", "shown"), ROW_CASES, ids=[f"{c[0]}:{c[1]}" for c in ROW_CASES]
)
def test_bad_cell_is_reported_with_row_column_reason_and_masked_value(
    tmp_path: Path, column: str, cell: str, reason: str, shown: str
) -> None:
    text = one_column_csv(column, [GOOD[column], cell])

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    assert caught.value.problems == [RowProblem(2, column, reason, shown)]
    assert f'row 2, column {column}: "{shown}" {reason}' in str(caught.value)
    assert caught.value.report.rows_rejected == 1
    assert list(tmp_path.iterdir()) == []  # no part, no rejects file left behind


def test_row_without_any_identifier_is_reported_as_a_row_problem(tmp_path: Path) -> None:
    text = one_column_csv("emails", ["mail@example.com", ""])

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    assert caught.value.problems == [RowProblem(2, "identifiers", NO_IDENTIFIER, "")]


def test_non_utf8_bytes_are_reported_on_their_row(tmp_path: Path) -> None:
    text = one_column_csv("emails", ["mail@example.com", "m\xe9l@example.com"]).encode("latin-1")

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    assert caught.value.problems[0] == RowProblem(2, "emails", "is not valid UTF-8 text", "m***@example.com")


def test_error_message_counts_all_invalid_rows_and_says_how_to_fix(tmp_path: Path) -> None:
    text = one_column_csv("emails", ["bad1", "mail@example.com", "bad2", "bad3"])

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path)

    message = str(caught.value)
    assert message.startswith("3 of 4 rows are invalid, so no file was written")
    assert [problem.row for problem in caught.value.problems] == [1, 3, 4]
    assert f"3 x emails: {EMAIL}" in message
    assert 'on_invalid="skip"' in message


def test_problems_across_batches_keep_input_row_numbers(tmp_path: Path) -> None:
    text = one_column_csv("phones", ["79995551111"] * 6 + ["123"])

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path, batch_rows=2)

    assert [problem.row for problem in caught.value.problems] == [7]


# (CSV bytes, fragments the OrdersInputError message must hold)
INPUT_CASES = [
    pytest.param(b"", ["the CSV input is empty"], id="empty-file"),
    pytest.param(b"\xef\xbb\xbf\n", ["the CSV input is empty"], id="bom-only"),
    pytest.param(
        b"id,create_date_time,emails,comment\no1,10.01.2024,a@b.ru,x\n",
        ["unknown columns: comment", 'unknown_columns="drop"', "comment: no Metrika column"],
        id="unknown-column",
    ),
    pytest.param(
        b"id,Emails,create_date_time\no1,a@b.ru,10.01.2024\n",
        ["unknown columns: Emails", "{'Emails': 'emails'}"],
        id="unknown-column-case",
    ),
    pytest.param(
        b"id,emails\no1,a@b.ru\n",
        ["the required column create_date_time is missing"],
        id="missing-date-column",
    ),
    pytest.param(
        b"id,create_date_time,revenue\no1,10.01.2024,5\n", ["no identifier column"], id="no-identifier-column"
    ),
    pytest.param(
        b"id\tcreate_date_time\temails\no1\t10.01.2024\ta@b.ru\n",
        ["seems delimited by TAB"],
        id="tab-delimiter",
    ),
    pytest.param(
        b'id,create_date_time,emails\no1,10.01.2024,a@b.ru\no2,"10.01.2024,c@d.ru\no3,10.01.2024,e@f.ru\n',
        ["CSV row 2 has 2 fields where the header has 3", "check the quoting"],
        id="unterminated-quote",
    ),
    pytest.param(
        b"id,create_date_time,emails\no1,10.01.2024,a@b.ru\no2,10.01.2024,c@d.ru,extra\n",
        ["CSV row 2 has 4 fields where the header has 3"],
        id="extra-field",
    ),
    pytest.param(
        b"id,id,create_date_time,emails\no1,o1,10.01.2024,a@b.ru\n",
        ["repeated column names: id"],
        id="repeated-column",
    ),
]


@pytest.mark.parametrize(("data", "fragments"), INPUT_CASES)
def test_unreadable_input_is_refused_with_a_clear_message(
    tmp_path: Path, data: bytes, fragments: list[str]
) -> None:
    with pytest.raises(OrdersInputError) as caught:
        prepare_text(data, tmp_path / "out")

    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_float_client_ids_are_refused_not_rounded(tmp_path: Path) -> None:
    frame = pd.DataFrame({"create_date_time": ["10.01.2024"], "client_ids": [1.2345678901234567e18]})

    float_ids = r"client_ids is double \(floating point\): ClientIDs"
    with pytest.raises(OrdersInputError, match=float_ids) as caught:
        prepare_text_frame(frame, tmp_path)

    assert str(caught.value).startswith("column client_ids holds floating-point numbers")
    assert "pd.read_csv(..., dtype={'client_ids': str})" in str(caught.value)


def test_metrikas_sample_read_plainly_is_refused_once_naming_every_float_column_and_the_read(
    tmp_path: Path,
) -> None:
    plain = pd.read_csv(io.StringIO(OFFICIAL_SAMPLE))  # client_ids and phones become floats

    with pytest.raises(OrdersInputError) as caught:
        prepare_text_frame(plain, tmp_path / "plain")

    message = str(caught.value)
    assert message.startswith("2 columns hold floating-point numbers where Metrika needs the exact text")
    assert "  client_ids is double (floating point): ClientIDs have up to 20 digits" in message
    assert "  phones is double (floating point): phones have up to 15 digits" in message
    fix = "pd.read_csv(..., dtype={'client_ids': str, 'phones': str})"
    assert fix in message
    # The read the message gives is enough: the same file then prepares, every value exact.
    fixed = pd.read_csv(io.StringIO(OFFICIAL_SAMPLE), dtype={"client_ids": str, "phones": str})
    result = prepare_simple_orders(fixed, tmp_path / "fixed", timezone=TIMEZONE)
    header, *rows = part_rows(result)
    written = [dict(zip(header, row, strict=True)) for row in rows]
    assert [row["client_ids"] for row in written] == ["", "12345", "34456"]
    assert [row["phones"] for row in written] == ["", "", "79876543210"]


def test_float_columns_are_named_by_their_input_names_in_the_fix(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"created": ["10.01.2024"], "phone": [79995551111.0], "cid": [12345.0], "uid": [7.0]}
    )

    with pytest.raises(OrdersInputError) as caught:
        prepare_simple_orders(
            frame,
            tmp_path,
            timezone=TIMEZONE,
            columns={
                "created": "create_date_time",
                "phone": "phones",
                "cid": "client_ids",
                "uid": "client_uniq_id",
            },
        )

    message = str(caught.value)
    assert message.startswith("3 columns hold floating-point numbers")
    for column, source in [("client_uniq_id", "uid"), ("client_ids", "cid"), ("phones", "phone")]:
        assert f"  {column} (input column {source!r}) is double (floating point)" in message
    assert "dtype={'uid': str, 'cid': str, 'phone': str}" in message
    assert not list(tmp_path.glob("part-*"))


def test_unix_timestamp_numbers_are_refused_for_dates(tmp_path: Path) -> None:
    frame = pd.DataFrame({"create_date_time": [1704880560], "client_ids": ["1"]})

    with pytest.raises(OrdersInputError, match="numbers such as Unix timestamps are not accepted"):
        prepare_text_frame(frame, tmp_path)


def test_renaming_a_column_the_input_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OrdersInputError, match="columns= renames mail, but the input has no such column"):
        prepare_text(one_column_csv("emails", ["a@b.ru"]), tmp_path, columns={"mail": "emails"})


def prepare_text_frame(frame: pd.DataFrame, output_dir: Path) -> None:
    from airflow_provider_metrika.simple_orders import prepare_simple_orders

    prepare_simple_orders(frame, output_dir, timezone="Europe/Moscow")
