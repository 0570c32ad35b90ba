"""The expenses core's columns and values: each rule and each refusal names row, column and fix."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.expenses import (
    EmptyExpensesError,
    ExpensesInputError,
    InvalidExpensesError,
    delete_file,
    prepare_expenses,
)
from tests.expenses.helpers import column, leftovers, rows


def _frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def _refused(data: object, workdir: Path, **options: object) -> InvalidExpensesError:
    with pytest.raises(InvalidExpensesError) as caught:
        prepare_expenses(data, workdir, **options)  # type: ignore[arg-type]
    assert leftovers(workdir) == []
    return caught.value


def test_headers_are_read_as_metrika_reads_them_and_written_in_its_spelling(tmp_path: Path) -> None:
    data = pd.DataFrame(
        {"date": ["2024-03-01"], "utm_source": ["vk"], "UTM Campaign": ["spring"], "EXPENSES": ["12.5"]}
    )
    result = prepare_expenses(data, tmp_path)
    assert rows(result.parts[0]) == [
        {"Date": "2024-03-01", "UTMSource": "vk", "UTMCampaign": "spring", "Expenses": "12.5"}
    ]
    assert result.report.columns == ["Date", "UTMSource", "UTMCampaign", "Expenses"]


def test_unknown_columns_are_refused_with_the_closest_name(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-01"], UTMSource=["vk"], Expenses=[1], UTMCampain=["x"], cost=[2])
    with pytest.raises(ExpensesInputError) as caught:
        prepare_expenses(data, tmp_path)
    text = str(caught.value)
    assert "did you mean UTMCampaign? pass columns={'UTMCampain': 'UTMCampaign'}" in text
    assert "did you mean Expenses?" in text


def test_columns_renames_an_input_column(tmp_path: Path) -> None:
    data = _frame(day=["2024-03-01"], UTMSource=["vk"], spend=["3"])
    result = prepare_expenses(data, tmp_path, columns={"day": "date", "spend": "Expenses"})
    assert column(result, "Expenses") == ["3"]


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"UTMSource": ["vk"], "Expenses": [1]}, "required column Date"),
        ({"Date": ["2024-03-01"], "Expenses": [1]}, "UTMSource or a TrafficSource"),
        (
            {"Date": ["2024-03-01"], "UTMSource": ["vk"], "TrafficSourceDetail": ["x"], "Expenses": [1]},
            "without",
        ),
    ],
)
def test_missing_columns_are_refused(tmp_path: Path, columns: dict[str, list[object]], words: str) -> None:
    with pytest.raises(ExpensesInputError, match=words):
        prepare_expenses(pd.DataFrame(columns), tmp_path)


def test_dates_days_datetimes_at_midnight_and_ranges(tmp_path: Path) -> None:
    data = pd.DataFrame(
        {
            "Date": pd.Series(["2024-03-01", "2024-03-02/2024-03-04", "2024-03-05/2024-03-05"]),
            "UTMSource": ["a", "b", "c"],
            "Expenses": ["1", "3", "5"],
        }
    )
    result = prepare_expenses(data, tmp_path / "text")
    assert column(result, "Date") == ["2024-03-01", "2024-03-02/2024-03-04", "2024-03-05"]
    assert result.report.totals == {
        f"2024-03-0{day}": value for day, value in zip(range(1, 6), [1, 1, 1, 1, 5], strict=True)
    }
    stamps = pd.DataFrame(
        {"Date": pd.to_datetime(["2024-03-01", "2024-03-02"]), "UTMSource": ["a", "b"], "Expenses": [1, 2]}
    )
    assert column(prepare_expenses(stamps, tmp_path / "stamps"), "Date") == ["2024-03-01", "2024-03-02"]
    days = pa.table({"Date": [dt.date(2024, 3, 1)], "UTMSource": ["a"], "Expenses": [1]})
    assert column(prepare_expenses(days, tmp_path / "days"), "Date") == ["2024-03-01"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2024-02-30", "is not a day"),
        ("01.03.2024", "is not a day"),
        ("2024-03-05/2024-03-01", "ends before it starts"),
        ("", "every row needs its Date"),
        (pd.Timestamp("2024-03-01 10:30"), "time of day"),
    ],
)
def test_bad_dates_are_refused(tmp_path: Path, value: object, reason: str) -> None:
    error = _refused(_frame(Date=[value], UTMSource=["vk"], Expenses=[1]), tmp_path)
    assert error.problems[0].row == 1
    assert error.problems[0].column == "Date"
    assert reason in error.problems[0].reason


def test_date_range_clears_every_day_and_refuses_rows_outside_it(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-02"], UTMSource=["vk"], Expenses=["7"])
    result = prepare_expenses(data, tmp_path / "in", date_range=(dt.date(2024, 3, 1), "2024-03-03"))
    assert result.report.dates == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert result.report.totals == {"2024-03-01": 0.0, "2024-03-02": 7.0, "2024-03-03": 0.0}
    assert result.delete_part is not None
    assert [row["Date"] for row in rows(result.delete_part)] == result.report.dates
    error = _refused(data, tmp_path / "out", date_range=("2024-03-03", "2024-03-04"))
    assert "outside date_range=2024-03-03/2024-03-04" in error.problems[0].reason
    with pytest.raises(ValueError, match="ends before it starts"):
        prepare_expenses(data, tmp_path / "bad", date_range=("2024-03-04", "2024-03-03"))


def test_delete_part_covers_exactly_the_input_days(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-03", "2024-03-01/2024-03-02", "2024-03-03"],
        UTMSource=["a", "b", "c"],
        Expenses=[1, 2, 3],
    )
    result = prepare_expenses(data, tmp_path)
    assert result.delete_part is not None
    assert result.delete_part.path.read_text() == "Date\n2024-03-01\n2024-03-02\n2024-03-03\n"
    assert result.delete_part.rows == 3


def test_delete_file_writes_sorted_unique_days_and_refuses_none(tmp_path: Path) -> None:
    part = delete_file(["2024-03-02", dt.date(2024, 3, 1), "2024-03-02"], tmp_path)
    assert part.path.read_text() == "Date\n2024-03-01\n2024-03-02\n"
    with pytest.raises(ValueError, match="at least one day"):
        delete_file([], tmp_path)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        delete_file(["2024-03-01/2024-03-02"], tmp_path)


@pytest.mark.parametrize("source", ["yandex", "Direct", "YANDEX.DIRECT", "yandexdirect"])
def test_utm_source_of_yandex_direct_is_refused(tmp_path: Path, source: str) -> None:
    error = _refused(_frame(Date=["2024-03-01"], UTMSource=[source], Expenses=[1]), tmp_path)
    assert (error.problems[0].column, error.problems[0].value) == ("UTMSource", source)
    assert "Yandex Direct" in error.problems[0].reason


def test_an_ad_row_with_a_direct_detail_is_refused(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"], TrafficSource=["ad"], TrafficSourceDetail=["yandex_direct"], Expenses=[1]
    )
    error = _refused(data, tmp_path)
    assert error.problems[0].column == "TrafficSourceDetail"
    assert "Yandex Direct" in str(error)


def test_traffic_sources_and_details(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"] * 3,
        TrafficSource=["ad", "referral", "email"],
        TrafficSourceDetail=["vk_ads", "partner.example.com", ""],
        Expenses=[1, 2, 3],
    )
    result = prepare_expenses(data, tmp_path / "ok")
    assert result.report.warnings == []
    error = _refused(_frame(Date=["2024-03-01"], TrafficSource=["paid"], Expenses=[1]), tmp_path / "src")
    assert "not one of Metrika's traffic sources" in error.problems[0].reason
    error = _refused(
        _frame(
            Date=["2024-03-01"],
            TrafficSource=["referral"],
            TrafficSourceDetail=["not a domain"],
            Expenses=[1],
        ),
        tmp_path / "ref",
    )
    assert "is not a domain" in error.problems[0].reason


def test_unknown_details_are_sent_with_a_warning(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"] * 2,
        TrafficSource=["ad", "direct"],
        TrafficSourceDetail=["new_network", "something"],
        Expenses=[1, 2],
    )
    result = prepare_expenses(data, tmp_path)
    assert column(result, "TrafficSourceDetail") == ["new_network", "something"]
    kinds = {warning.kind: warning.rows for warning in result.report.warnings}
    assert kinds == {"unknown_details": (1,), "details_without_table": (2,)}


def test_every_row_needs_a_source(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-01"] * 2, UTMSource=["vk", ""], TrafficSource=["", ""], Expenses=[1, 2])
    error = _refused(data, tmp_path)
    assert [(problem.row, problem.column) for problem in error.problems] == [(2, "UTMSource")]


def test_utm_values_are_sent_exactly_and_spaces_around_are_refused(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"] * 2, UTMSource=["VK", "vk"], UTMTerm=["Buy Shoes", "buy,shoes"], Expenses=[1, 2]
    )
    result = prepare_expenses(data, tmp_path / "ok")
    assert column(result, "UTMSource") == ["VK", "vk"]
    assert column(result, "UTMTerm") == ["Buy Shoes", "buy,shoes"]
    error = _refused(
        _frame(Date=["2024-03-01"], UTMSource=["vk"], UTMCampaign=["sale "], Expenses=[1]), tmp_path / "sp"
    )
    assert (error.problems[0].column, error.problems[0].value) == ("UTMCampaign", "sale ")
    assert "remove them at the source" in error.problems[0].reason


def test_one_campaign_in_two_cases_is_sent_with_a_warning(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"] * 3,
        UTMSource=["vk"] * 3,
        UTMCampaign=["Spring", "spring", "autumn"],
        Expenses=[1, 2, 3],
    )
    result = prepare_expenses(data, tmp_path)
    (warning,) = result.report.warnings
    assert warning.kind == "campaign_spellings"
    assert warning.count == 2
    assert "'Spring' vs 'spring'" in warning.message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "negative"),
        ("", "every row needs its Expenses"),
        ("abc", "not a decimal"),
        ("1e20", "too large"),
    ],
)
def test_bad_expenses_are_refused(tmp_path: Path, value: str, reason: str) -> None:
    error = _refused(_frame(Date=["2024-03-01"], UTMSource=["vk"], Expenses=[value]), tmp_path)
    assert error.problems[0].column == "Expenses"
    assert reason in error.problems[0].reason


def test_decimal_commas_are_read_as_the_orders_core_reads_them(tmp_path: Path) -> None:
    data = io.BytesIO(b"Date;UTMSource;Expenses\n2024-03-01;vk;1 234,50\n2024-03-01;ok;7.5\n")
    result = prepare_expenses(data, tmp_path)
    assert column(result, "Expenses") == ["1234.5", "7.5"]
    assert result.report.totals == {"2024-03-01": 1242.0}


def test_currency_and_clicks(tmp_path: Path) -> None:
    data = _frame(
        Date=["2024-03-01"] * 3,
        UTMSource=["a", "b", "c"],
        Expenses=[1, 2, 3],
        Currency=["rub", "", "USD"],
        Clicks=["007", None, 0],
    )
    result = prepare_expenses(data, tmp_path / "ok")
    assert column(result, "Currency") == ["RUB", "", "USD"]
    assert column(result, "Clicks") == ["7", "", "0"]
    assert result.report.currency == {"RUB", "", "USD"}, "a blank currency is the counter's, kept apart"
    error = _refused(
        _frame(
            Date=["2024-03-01"] * 2,
            UTMSource=["a", "b"],
            Expenses=[1, 2],
            Currency=["RUBLES", "RUB"],
            Clicks=["1", "-2"],
        ),
        tmp_path / "bad",
    )
    assert [(problem.row, problem.column) for problem in error.problems] == [(1, "Currency"), (2, "Clicks")]


def test_float_clicks_must_be_whole(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-01"] * 2, UTMSource=["a", "b"], Expenses=[1, 2], Clicks=[3.0, float("nan")])
    assert column(prepare_expenses(data, tmp_path / "ok"), "Clicks") == ["3", ""]
    error = _refused(
        _frame(Date=["2024-03-01"], UTMSource=["a"], Expenses=[1], Clicks=[2.5]), tmp_path / "bad"
    )
    assert error.problems[0].column == "Clicks"


def test_empty_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EmptyExpensesError):
        prepare_expenses(io.BytesIO(b""), tmp_path / "a")
    with pytest.raises(EmptyExpensesError, match="no rows"):
        prepare_expenses(_frame(Date=[], UTMSource=[], Expenses=[]), tmp_path / "b")
    assert leftovers(tmp_path / "b") == []


def test_a_workdir_with_files_of_an_earlier_run_is_refused(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-01"], UTMSource=["vk"], Expenses=[1])
    prepare_expenses(data, tmp_path)
    with pytest.raises(ValueError, match="from an earlier run"):
        prepare_expenses(data, tmp_path)


def test_sql_batches_and_small_parts(tmp_path: Path) -> None:
    batches = [
        _frame(Date=[f"2024-03-0{day}"] * 50, UTMSource=["vk"] * 50, Expenses=["1.25"] * 50)
        for day in (1, 2, 3)
    ]
    result = prepare_expenses(iter(batches), tmp_path, max_part_bytes=1000)
    assert len(result.parts) > 1
    assert sum(part.rows for part in result.parts) == 150 == result.report.rows_written
    assert result.report.totals == {"2024-03-01": 62.5, "2024-03-02": 62.5, "2024-03-03": 62.5}
    assert all(part.path.read_text().startswith("Date,UTMSource,Expenses\n") for part in result.parts)


def test_report_serialises_and_reads_as_text(tmp_path: Path) -> None:
    data = _frame(Date=["2024-03-01/2024-03-02"], UTMSource=["vk"], Expenses=[10], Currency=["RUB"])
    result = prepare_expenses(data, tmp_path)
    as_dict = result.to_dict()
    assert as_dict["report"]["totals"] == {"2024-03-01": 5.0, "2024-03-02": 5.0}
    assert as_dict["report"]["currency"] == ["RUB"]
    assert as_dict["delete_part"]["rows"] == 2
    assert "2024-03-01 .. 2024-03-02 (2 days)" in result.report.as_text()
