"""
Inputs built to be silently misread or to leak: each gets a refusal naming row, column and fix, or a
parse that is correct by the documented rule, and no customer value shows unmasked anywhere.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from airflow_provider_metrika.simple_orders import normalize_phone, prepare_simple_orders
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.identifiers import REASON_PHONE_EXTENSION, REASON_PHONE_SEVERAL
from airflow_provider_metrika.simple_orders.report import InvalidOrdersError
from tests.simple_orders.helpers import one_column_csv, part_dicts, prepare_text

HEADER = "id,create_date_time,emails,phones,revenue\n"


def _refused(tmp_path: Path, text: str, **options: object) -> InvalidOrdersError:
    with pytest.raises(InvalidOrdersError) as refused:
        prepare_text(text, tmp_path, **options)
    return refused.value


# -- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+7 495 123-45-67 (89)",
        "8 800 555 35 35 доб 12",
        "8 800 555 35 35 доб. 12",
        "8 800 555 35 35 добавочный 12",
        "+7 495 123-45-67 вн. 5",
        "+1 202 555 0123 ext. 7",
        "+1 202 555 0123 EXT 7",
        "+1 202 555 0123x7",
        "+1 202 555 0123 x 7",
        "+7 495 123-45-67 #89",
    ],
)
def test_a_phone_with_an_extension_is_refused_not_glued_to_the_number(tmp_path: Path, phone: str) -> None:
    error = _refused(tmp_path, one_column_csv("phones", [f'"{phone}"'], identifier=False))

    assert error.problems[0].row == 1
    assert error.problems[0].column == "phones"
    assert error.problems[0].reason == REASON_PHONE_EXTENSION
    assert phone not in str(error)


@pytest.mark.parametrize("phone", ["555-1234 555-5678", "79991112233 79994445566", "79991112233;79994445566"])
def test_two_numbers_in_one_value_are_refused_with_the_comma_fix(tmp_path: Path, phone: str) -> None:
    error = _refused(tmp_path, one_column_csv("phones", [f'"{phone}"'], identifier=False))

    assert error.problems[0].reason == REASON_PHONE_SEVERAL
    assert "separate several with commas" in str(error)


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+7 (495) 123-45-67", "74951234567"),
        ("8 800 555 35 35", "88005553535"),
        ("+44 20 7946 0958", "442079460958"),
        ("+7 999 555 11 11, +7 912 000 22 33", "79995551111,79120002233"),
    ],
)
def test_grouped_phones_and_comma_lists_still_pass(tmp_path: Path, phone: str, digits: str) -> None:
    result = prepare_text(one_column_csv("phones", [f'"{phone}"'], identifier=False), tmp_path)

    assert part_dicts(result)[0]["phones"] == digits


def test_normalize_phone_refuses_extensions_and_masks_the_value() -> None:
    with pytest.raises(ValueError, match="extension") as refused:
        normalize_phone("+7 495 987-65-43 доб 89")
    assert "987-65-43" not in str(refused.value)
    with pytest.raises(ValueError, match="two numbers"):
        normalize_phone("555-1234 555-5678")


# -- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e309", "1e100000000", "1000000000000000", "0.5e16", "1E+15"])
def test_an_amount_of_ten_to_the_fifteen_or_more_is_refused_and_never_expanded(
    tmp_path: Path, value: str
) -> None:
    error = _refused(tmp_path, one_column_csv("revenue", [value]))

    assert error.problems[0].column == "revenue"
    assert "is too large" in error.problems[0].reason
    assert len(str(error)) < 5000


def test_an_amount_just_below_the_bound_is_written_plainly(tmp_path: Path) -> None:
    result = prepare_text(one_column_csv("revenue", ["999999999999999.99", "9.99e14", "1E-7"]), tmp_path)

    assert [row["revenue"] for row in part_dicts(result)] == [
        "999999999999999.99",
        "999000000000000",
        "0.0000001",
    ]


@pytest.mark.parametrize("value", ["1e-100000000", "0." + "1" * 21])
def test_more_than_twenty_decimals_are_refused_not_rounded(tmp_path: Path, value: str) -> None:
    error = _refused(tmp_path, one_column_csv("revenue", [value]))

    assert "digits after the decimal point" in error.problems[0].reason


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "NaN"])
def test_text_infinity_and_nan_are_refused(tmp_path: Path, value: str) -> None:
    error = _refused(tmp_path, one_column_csv("revenue", [value]))

    assert error.problems[0].column == "revenue"


def test_float_amounts_of_ten_to_the_fifteen_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"create_date_time": ["2024-01-09"] * 2, "emails": ["a@b.ru"] * 2, "revenue": [1e15, 1e300]}
    )

    with pytest.raises(InvalidOrdersError, match="is too large"):
        prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow")


def test_a_dot_group_in_a_semicolon_file_is_refused_as_ambiguous_naming_decimal(tmp_path: Path) -> None:
    text = "id;create_date_time;emails;revenue\n1;2024-01-09;a@b.ru;1.234\n2;2024-01-09;a@b.ru;4590,50\n"

    error = _refused(tmp_path / "either", text)

    assert [(p.row, p.column) for p in error.problems] == [(1, "revenue")]
    assert 'decimal="."' in str(error)
    assert 'decimal=","' in str(error)
    dotted = prepare_text(text.replace("4590,50", "4590.50"), tmp_path / "dot", decimal=".")
    assert [row["revenue"] for row in part_dicts(dotted)] == ["1.234", "4590.5"]


def test_unambiguous_dots_in_a_semicolon_file_still_pass(tmp_path: Path) -> None:
    text = "id;create_date_time;emails;revenue\n1;2024-01-09;a@b.ru;0.125\n2;2024-01-09;a@b.ru;1.2345\n"

    result = prepare_text(text, tmp_path)

    assert [row["revenue"] for row in part_dicts(result)] == ["0.125", "1.2345"]


# -- control characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("id", '"o\x001"'),
        ("id", '"o\t1"'),
        ("id", '"o\n1"'),
        ("emails", '"mail@example.com\x1b"'),
        ("phones", '"7999555\t1111"'),
        ("revenue", '"12\x7f"'),
        ("create_date_time", '"2024-01-09\r"'),
    ],
)
def test_a_control_character_in_any_cell_is_refused_and_shown_escaped(
    tmp_path: Path, column: str, cell: str
) -> None:
    base = {
        "id": "o1",
        "create_date_time": "2024-01-09",
        "emails": "mail@example.com",
        "phones": "",
        "revenue": "",
    }
    base[column] = cell
    error = _refused(tmp_path, HEADER + ",".join(base.values()) + "\n")

    assert any(p.column == column and "control character" in p.reason for p in error.problems)
    assert all(char.isprintable() for line in str(error).splitlines() for char in line)


def test_a_c1_control_character_in_a_frame_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["o\u00851"], "create_date_time": ["2024-01-09"], "emails": ["a@b.ru"]})

    with pytest.raises(InvalidOrdersError, match="control character"):
        prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow")


# -- CSV structure --------------------------------------------------------------------------------


def test_cr_only_line_ends_are_read_as_lines(tmp_path: Path) -> None:
    text = 'id,create_date_time,emails\rs1,2024-01-09,a@b.ru\rs2,2024-01-10,"c@d.ru"\r'

    result = prepare_text(text, tmp_path)

    assert [row["id"] for row in part_dicts(result)] == ["s1", "s2"]


def test_a_row_longer_than_the_block_names_its_row_and_the_fix(tmp_path: Path) -> None:
    text = (
        HEADER
        + "o1,2024-01-09,a@b.ru,,1\n"
        + 'o2,2024-01-09,"secret.buyer@example.com'
        + "x" * (2 << 20)
        + "\n"
    )

    with pytest.raises(OrdersInputError) as refused:
        prepare_text(text, tmp_path)

    message = str(refused.value)
    assert "row 2 is longer than 1 MiB" in message
    assert "close the quote" in message
    assert "straddling" not in message
    assert "block size" not in message
    assert "secret.buyer" not in message


def test_a_field_count_error_names_the_row_and_quotes_no_value(tmp_path: Path) -> None:
    text = HEADER + "o1,2024-01-09,a@b.ru,,1\no2,2024-01-09,secret.buyer@example.com,79995551111\n"

    with pytest.raises(OrdersInputError) as refused:
        prepare_text(text, tmp_path)

    message = str(refused.value)
    assert "CSV row 2 has 4 fields where the header has 5" in message
    assert "secret.buyer" not in message
    assert "79995551111" not in message


# -- rejects --------------------------------------------------------------------------------------


def test_with_hashing_the_rejects_file_holds_masked_identifiers_only(tmp_path: Path) -> None:
    text = (
        "id,create_date_time,emails,phones,name,revenue\n"
        "o1,2024-01-09,good.buyer@example.com,79990001111,Anna Petrova,10\n"
        "o2,1969-12-31,secret.buyer@example.com,79995551111,Ivan Sidorov,5\n"
    )

    result = prepare_text(
        text,
        tmp_path,
        hash_identifiers=True,
        on_invalid="skip",
        max_invalid_fraction=0.5,
        unknown_columns="drop",
    )

    assert result.report.rejects_path is not None
    content = Path(result.report.rejects_path).read_text()
    for raw in ("secret.buyer", "79995551111", "Ivan Sidorov"):
        assert raw not in content
    row = next(csv.DictReader(io.StringIO(content)))
    assert (row["id"], row["create_date_time"], row["revenue"], row["_row"]) == ("o2", "1969-12-31", "5", "2")
    assert row["emails"] == "s***@example.com"
    assert row["phones"] == "79***11"


def test_without_hashing_the_rejects_file_keeps_values_for_fixing(tmp_path: Path) -> None:
    text = HEADER + "o1,2024-01-09,good@example.com,,1\no2,1969-12-31,secret.buyer@example.com,,5\n"

    result = prepare_text(text, tmp_path, on_invalid="skip", max_invalid_fraction=0.5)

    assert result.report.rejects_path is not None
    assert "secret.buyer@example.com" in Path(result.report.rejects_path).read_text()
