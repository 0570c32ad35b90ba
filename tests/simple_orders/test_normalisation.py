"""Good inputs are normalised to the one documented form of each column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import prepare_simple_orders

from .helpers import one_column_csv, part_dicts, prepare_text

CSV_CASES = [
    ("create_date_time", "10.01.2024", "2024-01-10"),
    ("create_date_time", "10.01.24", "2024-01-10"),
    ("create_date_time", "2024-01-10", "2024-01-10"),
    ("create_date_time", "10.01.2024 11:56", "2024-01-10 11:56:00"),
    ("create_date_time", "10.01.24 11:56:07", "2024-01-10 11:56:07"),
    ("create_date_time", "2024-01-10 11:56:07", "2024-01-10 11:56:07"),
    ("create_date_time", "2024-01-10T11:56", "2024-01-10 11:56:00"),
    ("create_date_time", "2024-01-10T08:56:07Z", "2024-01-10 11:56:07"),
    ("create_date_time", "2024-01-10T11:56:07.123+03:00", "2024-01-10 11:56:07"),
    ("create_date_time", "2024-01-10T06:56:07-0200", "2024-01-10 11:56:07"),
    ("create_date_time", "2024-01-10 23:30:00+00", "2024-01-11 02:30:00"),
    ("create_date_time", "1969-12-31T22:00:00Z", "1970-01-01 01:00:00"),
    ("create_date_time", "29.02.2024", "2024-02-29"),
    ("emails", " Mail@Example.COM ", "mail@example.com"),
    ("emails", '"a@b.ru , C@D.RU,,"', "a@b.ru,c@d.ru"),
    ("phones", "+7 (999) 555-11-11", "79995551111"),
    ("phones", "8.999.555.11.11", "89995551111"),
    ("phones", '"+7 999 555-11-11, 8 (999) 555-22-22"', "79995551111,89995552222"),
    ("client_ids", '"12345 ,67890"', "12345,67890"),
    ("client_ids", "18446744073709551615", "18446744073709551615"),
    ("order_status", "paid", "PAID"),
    ("order_status", "Canceled", "CANCELLED"),
    ("order_status", "in_progress", "IN_PROGRESS"),
    ("order_status", "lead_form_1", "lead_form_1"),
    ("order_status", "", ""),
    ("revenue", "1e-7", "0.0000001"),
    ("revenue", "1.5E3", "1500"),
    ("revenue", "1200.50", "1200.5"),
    ("revenue", "007.000", "7"),
    ("revenue", ".5", "0.5"),
    ("revenue", "", ""),
    ("goals", '"oplata:0200.50, filial_1"', "oplata:200.5,filial_1"),
    ("currency", " eur ", "EUR"),
    ("currency", "", ""),
    ("emails_md5", "3C56FF8FEF0F6C65B36B2D25720FE276", "3c56ff8fef0f6c65b36b2d25720fe276"),
]


@pytest.mark.parametrize(("column", "cell", "expected"), CSV_CASES, ids=[f"{c[0]}:{c[1]}" for c in CSV_CASES])
def test_good_cell_is_written_in_the_documented_form(
    tmp_path: Path, column: str, cell: str, expected: str
) -> None:
    result = prepare_text(one_column_csv(column, [cell]), tmp_path)

    assert part_dicts(result)[0][column] == expected


def test_leading_8_is_rewritten_to_7_only_when_asked(tmp_path: Path) -> None:
    text = one_column_csv("phones", ["8 (999) 555-11-11", "8999555111"])

    plain = prepare_text(text, tmp_path / "plain")
    rewritten = prepare_text(text, tmp_path / "rewritten", rewrite_leading_8=True)

    assert [row["phones"] for row in part_dicts(plain)] == ["89995551111", "8999555111"]
    assert [row["phones"] for row in part_dicts(rewritten)] == ["79995551111", "8999555111"]


def test_status_map_matches_exactly_then_case_insensitively_before_validation(tmp_path: Path) -> None:
    text = one_column_csv("order_status", ["Оплачен", "оплачен", "NEW", "new", "spam"])

    result = prepare_text(
        text, tmp_path, status_map={"Оплачен": "PAID", "NEW": "in_progress", "new": "lead_1"}
    )

    assert [row["order_status"] for row in part_dicts(result)] == [
        "PAID",
        "PAID",
        "IN_PROGRESS",
        "lead_1",
        "SPAM",
    ]


def test_tz_aware_timestamps_are_converted_and_naive_ones_taken_as_counter_time(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "create_date_time": pd.to_datetime(
                ["2024-01-10 08:56:07.9", "2024-07-01 21:00:00"], utc=True, format="ISO8601"
            ),
            "naive": pd.to_datetime(["2024-01-10 08:56:07", "2024-07-01 21:00:00"]),
            "client_ids": ["1", "2"],
        }
    )

    aware = prepare_simple_orders(frame.drop(columns="naive"), tmp_path / "a", timezone="Asia/Yekaterinburg")
    naive = prepare_simple_orders(
        frame.drop(columns="create_date_time"), tmp_path / "n", timezone="Asia/Yekaterinburg",
        columns={"naive": "create_date_time"},
    )  # fmt: skip

    assert [row["create_date_time"] for row in part_dicts(aware)] == [
        "2024-01-10 13:56:07",
        "2024-07-02 02:00:00",
    ]
    assert [row["create_date_time"] for row in part_dicts(naive)] == [
        "2024-01-10 08:56:07",
        "2024-07-01 21:00:00",
    ]


def test_python_dates_and_datetimes_and_arrow_types_are_accepted(tmp_path: Path) -> None:
    moscow = dt.timezone(dt.timedelta(hours=3))
    frame = pd.DataFrame(
        {
            "create_date_time": [dt.date(2024, 1, 10), dt.datetime(2024, 1, 10, 11, 56, tzinfo=dt.UTC)],
            "client_ids": [12345, 67890],
        }
    )
    table = pa.table(
        {
            "create_date_time": pa.array(
                [dt.datetime(2024, 1, 10, 11, 56, tzinfo=moscow)] * 2, pa.timestamp("s", "UTC")
            ),
            "client_ids": pa.array([[1, 2], None], pa.list_(pa.int64())),
        }
    )

    mixed = prepare_simple_orders(frame, tmp_path / "mixed", timezone="Europe/Moscow")
    arrow = prepare_simple_orders(table, tmp_path / "arrow", timezone="Europe/Moscow", on_invalid="skip",
                                  max_invalid_fraction=0.5)  # fmt: skip

    assert [row["create_date_time"] for row in part_dicts(mixed)] == ["2024-01-10", "2024-01-10 14:56:00"]
    assert [row["client_ids"] for row in part_dicts(mixed)] == ["12345", "67890"]
    assert part_dicts(arrow) == [{"create_date_time": "2024-01-10 11:56:00", "client_ids": "1,2"}]


def test_list_cells_and_integer_phones_are_normalised_per_value(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "create_date_time": ["10.01.2024", "11.01.2024"],
            "emails": [[" A@B.ru", "", "c@d.ru"], []],
            "phones": pd.array([79995551111, 79995552222], dtype="Int64"),
        }
    )

    result = prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow")

    assert part_dicts(result) == [
        {"create_date_time": "2024-01-10", "emails": "a@b.ru,c@d.ru", "phones": "79995551111"},
        {"create_date_time": "2024-01-11", "emails": "", "phones": "79995552222"},
    ]


def test_float_amounts_are_written_plainly_and_nan_stays_empty(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "create_date_time": ["10.01.2024"] * 5,
            "client_ids": ["1", "2", "3", "4", "5"],
            "revenue": [1e-7, 1200.50, float("nan"), 123456789012.0, 1e14],
            "cost": [0.0, -0.0, 1.0, 0.1, None],
        }
    )

    result = prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow")

    rows = part_dicts(result)
    assert [row["revenue"] for row in rows] == [
        "0.0000001",
        "1200.5",
        "",
        "123456789012",
        "100000000000000",
    ]
    assert [row["cost"] for row in rows] == ["0", "0", "1", "0.1", ""]
    assert result.report.revenue_by_currency == {"RUB": "100123456790212.5000001"}


def test_ids_are_written_exactly_and_quoted_when_they_hold_special_characters(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["a,b", 'say "hi"', "semi;colon", "  spaced "],
            "create_date_time": ["10.01.2024"] * 4,
            "client_ids": ["1", "2", "3", "4"],
        }
    )

    result = prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow")

    text = result.parts[0].path.read_text()
    assert text.splitlines()[1:] == [
        '"a,b",2024-01-10,1',
        '"say ""hi""",2024-01-10,2',
        '"semi;colon",2024-01-10,3',
        "  spaced ,2024-01-10,4",
    ]
    assert [row["id"] for row in part_dicts(result)] == ["a,b", 'say "hi"', "semi;colon", "  spaced "]


def test_fixed_layout_parser_agrees_with_the_regex_parser_on_every_layout() -> None:
    from airflow_provider_metrika.simple_orders.date_layouts import LAYOUTS, parse_layouts
    from airflow_provider_metrika.simple_orders.dates import _parts_by_regex

    sample = {"d": "31", "M": "12", "y": "2024", "H": "23", "m": "59", "s": "58", "h": "05", "n": "30"}
    values = []
    for layout in LAYOUTS:
        text = (
            layout.replace("ffffff", "123456")
            .replace("fff", "123")
            .replace("yyyy", "2024")
            .replace("yy", "24")
        )
        for field, digits in sample.items():
            text = text.replace(field * 2, digits)
        values += [text, text.replace("+", "-")]
    values += ["31.12.2024 23:59:5", "2024-12-31X23:59", "1.2.2024"]

    fast = parse_layouts(pa.array(values))
    slow = _parts_by_regex(pa.array(values))

    assert fast.matched[:-3].all()
    assert not fast.matched[-3:].any()
    for name in ("year", "month", "day", "hour", "minute", "second", "offset", "has_time", "has_zone"):
        assert getattr(fast, name)[:-3].tolist() == getattr(slow, name)[:-3].tolist(), name
