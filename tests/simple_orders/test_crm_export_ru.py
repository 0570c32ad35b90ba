"""A Russian CRM export on the first try: decimal commas, domestic phones, goal-id statuses, old orders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.simple_orders import OrdersInputError, prepare_simple_orders
from airflow_provider_metrika.simple_orders.synonyms import suggest_renames
from tests.simple_orders.helpers import part_rows, prepare_text

#: Semicolon-delimited, UTF-8 with BOM and CRLF as Excel saves it; Russian headers, "8 916 ..." phones,
#: decimal commas with spaces, no-break spaces and apostrophes grouping thousands, CRM status codes.
CRM_EXPORT = Path(__file__).resolve().parent.parent / "data" / "crm_export_ru.csv"
#: What a user passes after reading the rename hint; ``shipped`` and ``new`` are missing from the map.
COLUMNS = {
    "Номер заказа": "id",
    "Дата": "create_date_time",
    "Телефон": "phones",
    "Email": "emails",
    "Статус": "order_status",
    "Сумма": "revenue",
}
STATUS_MAP = {"paid": "PAID", "in_work": "IN_PROGRESS", "cancelled": "CANCELLED", "spam": "SPAM"}
#: The upload happens on 1 May 2024, 15:00 in Moscow: the window starts on 10 April, 15:00.
UPLOAD_TIME = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _prepare(tmp_path: Path, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "timezone": "Europe/Moscow",
        "columns": COLUMNS,
        "status_map": STATUS_MAP,
        "unknown_columns": "drop",
        "now": UPLOAD_TIME,
        **options,
    }
    return prepare_simple_orders(CRM_EXPORT, tmp_path / "out", **arguments)


def _warnings(result: Any) -> dict[str, Any]:
    return {warning["kind"]: warning for warning in result.report.to_dict()["warnings"]}


def test_the_russian_export_is_prepared_with_its_decimal_commas_read_from_the_semicolon_file(
    tmp_path: Path,
) -> None:
    result = _prepare(tmp_path)
    rows = part_rows(result)

    assert rows[0] == ["id", "create_date_time", "emails", "phones", "order_status", "revenue"]
    assert [row[5] for row in rows[1:]] == ["4590.5", "1299.99", "12500", "799", "2340.1", "0", "15000"]
    assert rows[1][:4] == ["А-1001", "2024-04-21 11:59:00", "ivan.ivanov@mail.ru", "89161234567"]
    assert result.report.rows_written == 7
    assert result.report.dropped_columns == ["Клиент", "Скидка"]


def test_domestic_phones_are_counted_with_the_argument_that_fixes_them(tmp_path: Path) -> None:
    warning = _warnings(_prepare(tmp_path))["domestic_phones"]

    assert warning["count"] == 4
    assert warning["fix"] == "rewrite_leading_8=True"
    assert "will not match visits" in warning["message"]
    assert [example.split(":")[0] for example in warning["examples"]] == ["row 1", "row 3", "row 4", "row 7"]


def test_rewrite_leading_8_sends_domestic_phones_with_7_and_silences_their_warning(tmp_path: Path) -> None:
    result = _prepare(tmp_path, rewrite_leading_8=True)

    assert [row[3] for row in part_rows(result)[1:]] == [
        "79161234567",
        "79161234568",
        "79035551234",
        "79267778899",
        "79250001122",
        "",
        "79991112233",
    ]
    assert "domestic_phones" not in _warnings(result)


def test_statuses_sent_as_goal_ids_are_listed_with_their_counts(tmp_path: Path) -> None:
    result = _prepare(tmp_path)
    warning = _warnings(result)["goal_statuses"]

    assert warning["count"] == 2
    assert warning["examples"] == ["'shipped' x 1", "'new' x 1"]
    assert "status_map=" in warning["fix"]
    assert result.report.status_counts["shipped"] == 1


def test_a_fully_mapped_status_column_gives_no_goal_status_warning(tmp_path: Path) -> None:
    result = _prepare(tmp_path, status_map={**STATUS_MAP, "shipped": "PAID", "new": "IN_PROGRESS"})

    assert "goal_statuses" not in _warnings(result)


def test_orders_created_more_than_21_days_before_the_upload_are_counted(tmp_path: Path) -> None:
    warning = _warnings(_prepare(tmp_path))["old_orders"]

    assert warning["count"] == 2
    assert warning["examples"] == ["row 3: 2024-04-02 18:40:00", "row 7: 2024-03-15 10:00:00"]
    assert "21 days" in warning["message"]


def test_the_21_day_window_is_read_in_the_counters_time_zone_and_a_date_alone_means_23_59(
    tmp_path: Path,
) -> None:
    csv = (
        "id,create_date_time,emails\n"
        "a,2024-04-10 14:59:59,a@example.com\n"  # one second before the window opens (15:00 Moscow)
        "b,2024-04-10 15:00:00,b@example.com\n"
        "c,09.04.2024,c@example.com\n"  # 23:59 on 9 April: outside
        "d,10.04.2024,d@example.com\n"  # 23:59 on 10 April: inside
    )
    result = prepare_text(csv, tmp_path, now=UPLOAD_TIME)

    warning = _warnings(result)["old_orders"]
    assert (warning["count"], warning["examples"]) == (2, ["row 1: 2024-04-10 14:59:59", "row 3: 2024-04-09"])


def test_invalid_rows_count_in_no_warning(tmp_path: Path) -> None:
    csv = "id,create_date_time,phones\na,01.01.2024,8 916 123 45 67\nb,,8 916 123 45 68\n"
    result = prepare_text(csv, tmp_path, on_invalid="skip", max_invalid_fraction=1.0, now=UPLOAD_TIME)

    assert {kind: warning["count"] for kind, warning in _warnings(result).items()} == {
        "domestic_phones": 1,
        "old_orders": 1,
    }


def test_the_report_keeps_warnings_json_serialisable_with_phones_masked(tmp_path: Path) -> None:
    result = _prepare(tmp_path)
    text = json.dumps(result.report.to_dict(), ensure_ascii=False)

    assert json.loads(text)["warnings"][0]["kind"] == "domestic_phones"
    for raw in ("9161234567", "916 123 45 67", "Ivan.Ivanov", "ivan.ivanov"):
        assert raw not in text
    assert raw not in result.report.as_text()


def test_the_report_text_lists_each_warning_with_its_count_and_fix(tmp_path: Path) -> None:
    text = _prepare(tmp_path).report.as_text()

    assert "Warnings (rows are sent, but will not work as expected):" in text
    assert "  4 rows: phones look like Russian domestic numbers" in text
    assert "Fix: rewrite_leading_8=True" in text
    assert "2 rows: order_status values are not PAID" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4590,50", "4590.5"),
        ("1 299,99", "1299.99"),
        ("1\u00a0299,99", "1299.99"),
        ("1\u202f299,99", "1299.99"),
        ("1'299,99", "1299.99"),
        ("1\u2019299", "1299"),
        ("12 345 678,9", "12345678.9"),
        ("0,5", "0.5"),
        ("799", "799"),
    ],
)
def test_decimal_comma_accepts_grouped_thousands(tmp_path: Path, value: str, expected: str) -> None:
    frame = pd.DataFrame(
        {"id": ["a"], "create_date_time": ["2024-01-10"], "emails": ["a@b.ru"], "revenue": [value]}
    )
    result = prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow", decimal=",")

    assert part_rows(result)[1][-1] == expected


@pytest.mark.parametrize("value", ["4590.50", "1.299,99", "1 29,9", "12 500 руб"])
def test_decimal_comma_refuses_dots_and_misgrouped_digits(tmp_path: Path, value: str) -> None:
    frame = pd.DataFrame(
        {"id": ["a"], "create_date_time": ["2024-01-10"], "emails": ["a@b.ru"], "revenue": [value]}
    )
    result = prepare_simple_orders(
        frame, tmp_path, timezone="Europe/Moscow", decimal=",", on_invalid="skip", max_invalid_fraction=1.0
    )

    assert result.report.rows_rejected == 1
    assert "decimal comma" in next(iter(result.report.rejected_by_reason))


def test_a_comma_delimited_file_keeps_the_decimal_point_and_names_the_argument_for_commas(
    tmp_path: Path,
) -> None:
    csv = 'id,create_date_time,emails,revenue\na,10.01.2024,a@b.ru,"4590,50"\nb,10.01.2024,b@b.ru,12.5\n'
    result = prepare_text(csv, tmp_path, on_invalid="skip", max_invalid_fraction=1.0)

    assert result.report.rows_written == 1
    assert 'pass decimal=","' in next(iter(result.report.rejected_by_reason))
    assert (
        part_rows(
            prepare_text(csv, tmp_path / "comma", decimal=",", on_invalid="skip", max_invalid_fraction=1.0)
        )[1][-1]
        == "4590.5"
    )


def test_a_semicolon_file_accepts_both_decimal_commas_and_points_by_default(tmp_path: Path) -> None:
    csv = "id;create_date_time;emails;revenue;cost\na;10.01.2024;a@b.ru;4590,50;100.25\n"

    assert part_rows(prepare_text(csv, tmp_path))[1][-2:] == ["4590.5", "100.25"]


def test_decimal_must_be_a_point_a_comma_or_none(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"decimal must be '\.', ',' or None"):
        prepare_text("id,create_date_time,emails\n", tmp_path, decimal=";")


def test_the_russian_export_without_renames_gets_exact_renames_and_no_invented_one(tmp_path: Path) -> None:
    with pytest.raises(OrdersInputError) as raised:
        prepare_simple_orders(CRM_EXPORT, tmp_path, timezone="Europe/Moscow")

    message = str(raised.value)
    assert (
        "pass columns={'Номер заказа': 'id', 'Дата': 'create_date_time', 'Телефон': 'phones', "
        "'Email': 'emails', 'Статус': 'order_status', 'Сумма': 'revenue'}"
    ) in message
    assert "Клиент, Скидка: no Metrika column" in message
    assert "'Клиент':" not in message
    assert "'Скидка':" not in message
    assert 'unknown_columns="drop"' in message


def test_a_discount_column_is_never_suggested_as_a_customer_id(tmp_path: Path) -> None:
    csv = "id,create_date_time,emails,discount\na,10.01.2024,a@b.ru,100\n"
    with pytest.raises(OrdersInputError) as raised:
        prepare_text(csv, tmp_path)

    message = str(raised.value)
    assert "client_uniq_id'}" not in message
    assert "columns={" not in message
    assert (
        "discount: no Metrika column; rename one yourself only if it holds a column above, "
        'or pass unknown_columns="drop"' in message
    )


def test_two_columns_that_both_look_like_emails_are_named_without_picking_one(tmp_path: Path) -> None:
    csv = "id,create_date_time,client_ids,Email,E-mail\na,10.01.2024,1,a@b.ru,c@d.ru\n"
    with pytest.raises(
        OrdersInputError, match="Email, E-mail all look like emails: keep the one that holds it"
    ):
        prepare_text(csv, tmp_path)


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("Email", "emails"),
        ("e-mail", "emails"),
        ("E_Mail", "emails"),
        ("Электронная почта", "emails"),
        ("Телефон", "phones"),
        ("Phone number", "phones"),
        ("order_id", "id"),
        ("Номер заказа", "id"),
        ("дата", "create_date_time"),
        ("Дата заказа", "create_date_time"),
        ("created_at", "create_date_time"),
        ("Статус заказа", "order_status"),
        ("Сумма", "revenue"),
        ("Себестоимость", "cost"),
        ("Валюта", "currency"),
        ("ID клиента", "client_uniq_id"),
        ("ClientID", None),  # Metrika's ClientID or the CRM's customer id? Ambiguous: no hint.
        ("client_id", None),
        ("discount", None),
        ("Скидка", None),
        ("amount", None),
        ("Клиент", None),
    ],
)
def test_rename_hints_come_only_from_clear_synonyms(name: str, column: str | None) -> None:
    assert suggest_renames([name], []) == ({name: column} if column else {})


def test_no_rename_is_suggested_onto_a_column_the_input_already_has() -> None:
    assert suggest_renames(["E-mail"], ["emails"]) == {}
