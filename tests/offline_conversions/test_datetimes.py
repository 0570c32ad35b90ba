"""DateTime: every accepted form written as Unix seconds, future times refused, old ones counted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.offline_conversions import InvalidConversionsError
from airflow_provider_metrika.offline_conversions.masking import mask_cell
from tests.offline_conversions.helpers import NOW, TEN_DAYS_AGO, column, conversions, frame

#: 2024-01-10 08:00:00 UTC is 11:00 in Moscow (UTC+3) and 09:00 in Berlin (UTC+1, winter).
CASES = [
    pytest.param([TEN_DAYS_AGO], str(TEN_DAYS_AGO), id="int seconds"),
    pytest.param([float(TEN_DAYS_AGO) + 0.25], f"{TEN_DAYS_AGO}.25", id="float seconds keep the fraction"),
    pytest.param([f" {TEN_DAYS_AGO}.500 "], f"{TEN_DAYS_AGO}.5", id="numeric string, trailing zeros dropped"),
    pytest.param([f"{TEN_DAYS_AGO}.000"], str(TEN_DAYS_AGO), id="a zero fraction is no fraction"),
    pytest.param(["2024-01-10 11:00"], str(TEN_DAYS_AGO), id="naive ISO in the counter's zone"),
    pytest.param(["2024-01-10T11:00:00.125"], f"{TEN_DAYS_AGO}.125", id="naive ISO with a fraction"),
    pytest.param(["2024-01-10T08:00:00Z"], str(TEN_DAYS_AGO), id="ISO Z"),
    pytest.param(["2024-01-10T10:00:00+0200"], str(TEN_DAYS_AGO), id="ISO offset without colon"),
    pytest.param(["2024-01-10T03:00-05:00"], str(TEN_DAYS_AGO), id="ISO negative offset"),
    pytest.param([pd.Timestamp("2024-01-10 11:00:00")], str(TEN_DAYS_AGO), id="naive timestamp"),
    pytest.param(
        [pd.Timestamp("2024-01-10 09:00:00.5", tz="Europe/Berlin")], f"{TEN_DAYS_AGO}.5", id="aware timestamp"
    ),
]


@pytest.mark.parametrize(("values", "written"), CASES)
def test_datetime_is_written_as_unix_seconds(tmp_path: Path, values: list[object], written: str) -> None:
    result = conversions(frame(ClientId=["1"], DateTime=values), tmp_path)

    assert column(result, "DateTime") == [written]


def test_naive_times_are_read_in_source_timezone_when_given(tmp_path: Path) -> None:
    data = frame(ClientId=["1", "2"], DateTime=["2024-01-10 09:00", pd.Timestamp("2024-01-10 09:00")])
    data["DateTime"] = data["DateTime"].astype(str)

    result = conversions(data, tmp_path, source_timezone="Europe/Berlin")

    assert column(result, "DateTime") == [str(TEN_DAYS_AGO)] * 2
    assert result.report.timezone == "Europe/Berlin"


def test_arrow_timestamps_of_every_unit_keep_their_fraction(tmp_path: Path) -> None:
    ticks = TEN_DAYS_AGO * 1_000_000 + 1
    table = pa.table(
        {
            "ClientId": ["1", "2"],
            "Target": ["t", "t"],
            "DateTime": pa.array([ticks, TEN_DAYS_AGO * 1_000_000], pa.timestamp("us", tz="UTC")),
        }
    )

    result = conversions(table, tmp_path)

    assert column(result, "DateTime") == [f"{TEN_DAYS_AGO}.000001", str(TEN_DAYS_AGO)]


def test_a_time_skipped_by_dst_moves_to_the_end_of_the_gap_and_a_repeated_one_is_the_first(
    tmp_path: Path,
) -> None:
    # Berlin: 2023-03-26 02:00 -> 03:00 (gap); 2023-10-29 03:00 -> 02:00 (02:30 happens twice).
    data = frame(ClientId=["1", "2"], DateTime=["2023-03-26 02:30", "2023-10-29 02:30"])

    result = conversions(
        data, tmp_path, timezone="Europe/Berlin", now=dt.datetime(2023, 11, 1, tzinfo=dt.UTC)
    )

    gap_end = dt.datetime(2023, 3, 26, 1, 0, tzinfo=dt.UTC).timestamp()  # 03:00 CEST
    first = dt.datetime(2023, 10, 29, 0, 30, tzinfo=dt.UTC).timestamp()  # 02:30 CEST
    assert column(result, "DateTime") == [str(int(gap_end)), str(int(first))]


REFUSALS = [
    pytest.param("", "is empty: DateTime is required", id="empty"),
    pytest.param("2024-01-10", "is a date without a time of day", id="date only"),
    pytest.param("10.01.2024 11:00", "is not a time Metrika can take", id="not ISO"),
    pytest.param("2024-02-30T10:00", "is not a real date or time", id="impossible date"),
    pytest.param("2024-01-10T24:00", "is not a real date or time", id="hour 24"),
    pytest.param("-5", "is before 1970-01-01", id="negative"),
    pytest.param("1704873600000", "milliseconds or microseconds? divide by 1000", id="milliseconds"),
    pytest.param("2024-01-20T00:00:01Z", "is in the future (after 2024-01-20T00:00:00 UTC", id="future"),
    pytest.param("1705708800.5", "is in the future", id="future by a fraction"),
]


@pytest.mark.parametrize(("value", "reason"), REFUSALS)
def test_a_bad_datetime_is_refused_naming_row_column_and_reason(
    tmp_path: Path, value: str, reason: str
) -> None:
    data = frame(ClientId=["1", "2"], DateTime=[str(TEN_DAYS_AGO), value])

    with pytest.raises(InvalidConversionsError) as caught:
        conversions(data, tmp_path)

    (problem,) = caught.value.problems
    shown = mask_cell(value, "DateTime")  # 11+ digits may be a phone number put in the wrong column
    assert (problem.row, problem.column, problem.value) == (2, "DateTime", shown)
    assert reason in problem.reason
    assert f'row 2, column DateTime: "{shown}"' in str(caught.value)
    assert list(tmp_path.glob("part-*")) == []


def test_now_itself_is_accepted(tmp_path: Path) -> None:
    result = conversions(frame(ClientId=["1"], DateTime=[str(int(NOW.timestamp()))]), tmp_path)

    assert result.report.rows_written == 1


def test_date_columns_are_refused_as_dates_without_a_time(tmp_path: Path) -> None:
    data = frame(ClientId=["1"], DateTime=[dt.date(2024, 1, 10)])

    with pytest.raises(InvalidConversionsError, match="a date without a time of day"):
        conversions(data, tmp_path)


def test_rows_older_than_21_days_are_counted_and_warned_about_but_sent(tmp_path: Path) -> None:
    old = int((NOW - dt.timedelta(days=21, seconds=1)).timestamp())
    edge = int((NOW - dt.timedelta(days=21)).timestamp())
    data = frame(ClientId=["1", "2", "3"], DateTime=[old, edge, TEN_DAYS_AGO])

    result = conversions(data, tmp_path)

    report = result.report
    assert report.rows_written == 3
    assert report.rows_older_than_window == 1
    (warning,) = report.warnings
    assert (warning.kind, warning.count, warning.rows) == ("old_rows", 1, (1,))
    assert "will not link" in warning.describe()
    assert report.first_time == "2023-12-29T23:59:59Z"
    assert report.last_time == "2024-01-10T08:00:00Z"
