"""Zones (the counter's, and the one naive input is in) and dates that cannot be real yet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import InvalidOrdersError, prepare_simple_orders

from .helpers import one_column_csv, part_dicts, prepare_text

#: A fixed preparation time: 2024-06-01 12:00 UTC is 15:00 in Moscow; one day later is the limit.
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


def _dates(values: list[str], tmp_path: Path, **options: object) -> list[str]:
    result = prepare_text(one_column_csv("create_date_time", values), tmp_path, now=NOW, **options)
    return [row["create_date_time"] for row in part_dicts(result)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-01-10 08:56:07", "2024-01-10 11:56:07"),
        ("10.01.2024 23:30", "2024-01-11 02:30:00"),
        ("10.01.24 08:00:00", "2024-01-10 11:00:00"),
        ("2024-01-10T08:56", "2024-01-10 11:56:00"),
        ("2024-01-10T08:56:07Z", "2024-01-10 11:56:07"),  # aware: its own offset wins
        ("2024-01-10T11:56:07+03:00", "2024-01-10 11:56:07"),
        ("2024-01-10", "2024-01-10"),  # a calendar day never shifts
        ("10.01.2024", "2024-01-10"),
    ],
)
def test_naive_text_is_read_in_source_timezone_and_written_in_the_counters(
    tmp_path: Path, cell: str, expected: str
) -> None:
    assert _dates([cell], tmp_path, timezone="Europe/Moscow", source_timezone="UTC") == [expected]


def test_without_source_timezone_naive_values_are_the_counters_own(tmp_path: Path) -> None:
    assert _dates(["2024-01-10 08:56:07"], tmp_path, timezone="Europe/Moscow") == ["2024-01-10 08:56:07"]


def test_naive_and_aware_timestamps_from_a_dataframe(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "naive": pd.to_datetime(["2024-01-10 08:56:07", "2024-05-01 21:00:00"]),
            "aware": pd.to_datetime(["2024-01-10 08:56:07+00:00", "2024-05-01 21:00:00+05:00"], utc=True),
            "client_ids": ["1", "2"],
        }
    )
    options: dict[str, Any] = {"timezone": "Europe/Moscow", "source_timezone": "UTC", "now": NOW}

    naive = prepare_simple_orders(
        frame.drop(columns="aware"), tmp_path / "n", columns={"naive": "create_date_time"}, **options
    )
    aware = prepare_simple_orders(
        frame.drop(columns="naive"), tmp_path / "a", columns={"aware": "create_date_time"}, **options
    )

    assert [r["create_date_time"] for r in part_dicts(naive)] == [
        "2024-01-10 11:56:07",
        "2024-05-02 00:00:00",
    ]
    assert [r["create_date_time"] for r in part_dicts(aware)] == [
        "2024-01-10 11:56:07",
        "2024-05-01 19:00:00",
    ]


def test_dates_without_time_from_arrow_never_shift(tmp_path: Path) -> None:
    table = pa.table({"create_date_time": pa.array([dt.date(2024, 1, 10)]), "client_ids": ["1"]})

    result = prepare_simple_orders(
        table, tmp_path, timezone="Asia/Tokyo", source_timezone="America/New_York", now=NOW
    )

    assert [r["create_date_time"] for r in part_dicts(result)] == ["2024-01-10"]


# DST edges of Europe/Berlin: 2023-03-26 02:00 -> 03:00 (02:xx does not exist), 2023-10-29 03:00 -> 02:00
# (02:xx happens twice). The counter is in UTC so that the instant chosen shows plainly.
DST_CASES = [
    ("2023-03-26 01:59:59", "2023-03-26 00:59:59"),  # last second before the gap (CET, +1)
    ("2023-03-26 02:30:00", "2023-03-26 01:00:00"),  # in the gap: moved forward to its end, 03:00 CEST
    ("2023-03-26 03:00:00", "2023-03-26 01:00:00"),  # first time after the gap (CEST, +2)
    ("2023-10-29 02:30:00", "2023-10-29 00:30:00"),  # twice: the first occurrence, still CEST
    ("2023-10-29 03:00:00", "2023-10-29 02:00:00"),  # after the overlap (CET, +1)
]


@pytest.mark.parametrize(("cell", "expected"), DST_CASES)
def test_naive_times_at_dst_edges_of_the_source_zone(tmp_path: Path, cell: str, expected: str) -> None:
    assert _dates([cell], tmp_path, timezone="UTC", source_timezone="Europe/Berlin") == [expected]


def test_naive_timestamps_at_dst_edges_follow_the_same_rule(tmp_path: Path) -> None:
    cells = [cell for cell, _ in DST_CASES]
    frame = pd.DataFrame({"create_date_time": pd.to_datetime(cells), "client_ids": ["1"] * len(cells)})

    result = prepare_simple_orders(frame, tmp_path, timezone="UTC", source_timezone="Europe/Berlin", now=NOW)

    assert [r["create_date_time"] for r in part_dicts(result)] == [expected for _, expected in DST_CASES]


def test_counter_zone_at_its_own_dst_edge_writes_naive_values_unchanged(tmp_path: Path) -> None:
    # Metrika reads the wall clock in the counter's zone: nothing to resolve when no conversion is asked.
    assert _dates(["2023-03-26 02:30:00"], tmp_path, timezone="Europe/Berlin") == ["2023-03-26 02:30:00"]


def test_future_dates_more_than_a_day_ahead_are_invalid_with_the_value_row_and_limit(tmp_path: Path) -> None:
    cells = [
        "2024-06-02 15:00:00",  # exactly one day ahead in Moscow: accepted
        "2024-06-02 15:00:01",
        "31.12.99",  # two-digit year: 2099
        "02.06.24",  # tomorrow, date only: judged by its start, accepted
        "03.06.2024",
        "2024-06-02T12:00:01Z",  # aware: 15:00:01 in Moscow
    ]

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(one_column_csv("create_date_time", cells), tmp_path, timezone="Europe/Moscow", now=NOW)

    message = str(caught.value)
    reason = (
        "is more than one day in the future (after 2024-06-02 15:00:00 in Europe/Moscow, the counter's "
        "time zone, when the orders were prepared): check the year (two-digit years are read as 20yy)"
    )
    for row, cell in [
        (2, "2024-06-02 15:00:01"),
        (3, "31.12.99"),
        (5, "03.06.2024"),
        (6, "2024-06-02T12:00:01Z"),
    ]:
        assert f'row {row}, column create_date_time: "{cell}" {reason}' in message
    assert caught.value.report.rows_rejected == 4


def test_future_rows_are_skipped_like_any_invalid_row(tmp_path: Path) -> None:
    text = one_column_csv("create_date_time", ["01.06.24 10:00", "31.12.99", "01.01.2099 00:00"])

    result = prepare_text(
        text, tmp_path, timezone="Europe/Moscow", now=NOW, on_invalid="skip", max_invalid_fraction=1.0
    )

    assert [r["create_date_time"] for r in part_dicts(result)] == ["2024-06-01 10:00:00"]
    assert result.report.rows_rejected == 2
    [(reason, count)] = result.report.rejected_by_reason.items()
    assert "more than one day in the future" in reason
    assert count == 2


def test_future_timestamps_and_dates_from_a_dataframe_are_invalid(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "create_date_time": pd.to_datetime(["2024-06-01 09:00", "2099-12-31 00:00"]),
            "day": [dt.date(2024, 6, 1), dt.date(2099, 12, 31)],
            "client_ids": ["1", "2"],
        }
    )
    options: dict[str, Any] = {
        "timezone": "Europe/Moscow",
        "now": NOW,
        "on_invalid": "skip",
        "max_invalid_fraction": 1.0,
    }

    stamps = prepare_simple_orders(frame.drop(columns="day"), tmp_path / "s", **options)
    days = prepare_simple_orders(
        frame.drop(columns="create_date_time"), tmp_path / "d", columns={"day": "create_date_time"}, **options
    )

    assert [r["create_date_time"] for r in part_dicts(stamps)] == ["2024-06-01 09:00:00"]
    assert [r["create_date_time"] for r in part_dicts(days)] == ["2024-06-01"]


def test_without_now_the_check_uses_the_current_time(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).strftime("%d.%m.%Y")

    result = prepare_text(
        one_column_csv("create_date_time", [today, "31.12.99"]),
        tmp_path,
        on_invalid="skip",
        max_invalid_fraction=1.0,
    )

    assert len(part_dicts(result)) == 1
    assert result.report.rows_rejected == 1


def test_the_report_says_which_zones_were_used(tmp_path: Path) -> None:
    text = one_column_csv("create_date_time", ["2024-01-10 08:56:07"])

    same = prepare_text(text, tmp_path / "same", timezone="Europe/Moscow", now=NOW).report
    other = prepare_text(
        text, tmp_path / "other", timezone="Europe/Moscow", source_timezone="UTC", now=NOW
    ).report

    assert (same.timezone, same.source_timezone) == ("Europe/Moscow", "Europe/Moscow")
    assert (other.timezone, other.source_timezone) == ("Europe/Moscow", "UTC")
    assert "written in Europe/Moscow (the counter's); naive input read in UTC" in other.as_text()
    assert other.to_dict()["source_timezone"] == "UTC"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"source_timezone": "Mars/Olympus"}, "source_timezone 'Mars/Olympus' is not a known IANA time zone"),
        ({"source_timezone": ""}, "source_timezone must be an IANA time zone name"),
        ({"now": dt.datetime(2024, 6, 1)}, "now must be a timezone-aware datetime"),
    ],
)
def test_bad_zone_arguments_are_refused(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_text(one_column_csv("create_date_time", ["10.01.2024"]), tmp_path, **options)
