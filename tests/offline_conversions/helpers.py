"""Helpers shared by the offline conversions core tests: run the core and read its parts back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pandas as pd

from airflow_provider_metrika.offline_conversions import (
    PreparedConversions,
    prepare_calls,
    prepare_offline_conversions,
)

TIMEZONE = "Europe/Moscow"
#: The preparation moment of every test: 2024-01-20 00:00 UTC.
NOW = dt.datetime(2024, 1, 20, tzinfo=dt.UTC)
#: 2024-01-10 08:00:00 UTC, ten days before NOW.
TEN_DAYS_AGO = 1704873600


def conversions(data: Any, workdir: Path, **options: Any) -> PreparedConversions:
    """Run the conversions core with the tests' zone and moment unless given.

    :param data: the input.
    :param workdir: where parts go.
    :param options: keyword options of prepare_offline_conversions.
    """
    options.setdefault("timezone", TIMEZONE)
    options.setdefault("now", NOW)
    return prepare_offline_conversions(data, workdir, **options)


def calls(data: Any, workdir: Path, **options: Any) -> PreparedConversions:
    """Run the calls core with the tests' zone and moment unless given.

    :param data: the input.
    :param workdir: where parts go.
    :param options: keyword options of prepare_calls.
    """
    options.setdefault("timezone", TIMEZONE)
    options.setdefault("now", NOW)
    return prepare_calls(data, workdir, **options)


def csv_bytes(text: str) -> io.BytesIO:
    """Return CSV text as the binary stream the core reads.

    :param text: the CSV.
    """
    return io.BytesIO(text.encode("utf-8"))


def frame(**columns: Any) -> pd.DataFrame:
    """Return a DataFrame of conversions: Target and DateTime filled in when not given.

    :param columns: column name -> values.
    """
    rows = len(next(iter(columns.values())))
    columns.setdefault("Target", ["paid"] * rows)
    columns.setdefault("DateTime", [str(TEN_DAYS_AGO)] * rows)
    return pd.DataFrame(columns)


def part_dicts(result: PreparedConversions) -> list[dict[str, str]]:
    """Return the data rows of all parts as dicts, checking every part has the same header.

    :param result: the preparation result.
    """
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for part in result.parts:
        with open(part.path, newline="", encoding="utf-8") as handle:
            first, *records = list(csv.reader(handle))
        assert header in (None, first)
        header = first
        rows += [dict(zip(first, record, strict=True)) for record in records]
    return rows


def column(result: PreparedConversions, name: str) -> list[str]:
    """Return one column of the parts.

    :param result: the preparation result.
    :param name: the column.
    """
    return [row[name] for row in part_dicts(result)]
