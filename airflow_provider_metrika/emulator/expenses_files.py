"""Read an expenses upload or delete file as the emulator's Metrika does.

Written independently of the provider's expenses core, so that the tests catch a client that drifts
from the format. Headers are read case-insensitively with punctuation ignored. The whole file is
refused (the caller answers 400 ``invalid_uploading``) when it has no data rows, lacks a required
column, names an unknown one, or holds an invalid value: the emulator refuses rather than drops,
since what Metrika does with one bad row of an expenses file is not documented. A ``Date`` range's
amounts are spread evenly over its days, as Metrika documents, so rows are kept per day.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

UPLOAD_COLUMNS = (
    "Date",
    "UTMSource",
    "UTMMedium",
    "UTMCampaign",
    "UTMTerm",
    "UTMContent",
    "TrafficSource",
    "TrafficSourceDetail",
    "Expenses",
    "Currency",
    "Clicks",
)
#: The columns a delete file may hold: ``Date`` and what narrows the rows removed.
DELETE_COLUMNS = ("Date", "UTMSource", "UTMMedium", "UTMCampaign", "UTMTerm", "UTMContent", "TrafficSource")
#: The columns that tell stored rows apart besides provider and day.
KEY_COLUMNS = (
    "UTMSource",
    "UTMMedium",
    "UTMCampaign",
    "UTMTerm",
    "UTMContent",
    "TrafficSource",
    "TrafficSourceDetail",
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")


class FileRefused(ValueError):
    """The file cannot be accepted; the message says why."""


@dataclass(frozen=True)
class ExpensesFile:
    """A file read: one row per day (ranges spread), and how many data rows the file had.

    :param rows: per day: ``Date`` (a date), the key columns given, ``Expenses`` (Decimal),
        ``Currency`` and ``Clicks`` text.
    :param source_quantity: data rows in the file.
    """

    rows: list[dict[str, object]]
    source_quantity: int


def _fold(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


def _days(text: str, line: int) -> list[date]:
    first_text, _, last_text = text.partition("/")
    try:
        if not _DAY.match(first_text) or (last_text and not _DAY.match(last_text)):
            raise ValueError
        first = date.fromisoformat(first_text)
        last = date.fromisoformat(last_text) if last_text else first
    except ValueError:
        raise FileRefused(f"line {line}: Date {text!r} is not YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD") from None
    if last < first:
        raise FileRefused(f"line {line}: Date range {text!r} ends before it starts")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _amount(text: str, line: int) -> Decimal:
    if not _DECIMAL.match(text):
        raise FileRefused(f"line {line}: Expenses {text!r} is not a non-negative decimal with a dot")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already settled it
        raise FileRefused(f"line {line}: Expenses {text!r} is not a number") from None


def _header(names: list[str], allowed: tuple[str, ...]) -> list[str]:
    known = {_fold(column): column for column in allowed}
    columns = []
    for name in names:
        column = known.get(_fold(name))
        if column is None:
            raise FileRefused(f"unknown column {name!r}; allowed: {', '.join(allowed)}")
        columns.append(column)
    if "Date" not in columns:
        raise FileRefused("the required column Date is missing")
    return columns


def read_expenses_file(path: Path, *, delete: bool) -> ExpensesFile:
    """Read an upload (``delete=False``) or delete file; raise :class:`FileRefused` when refused.

    :param path: the received file.
    :param delete: whether it is a delete file (``Date`` and optional UTM columns).
    """
    try:
        with open(path, encoding="utf-8", newline="") as file:
            lines = [line for line in csv.reader(file) if any(cell.strip() for cell in line)]
    except UnicodeDecodeError:
        raise FileRefused("the file is not UTF-8 text") from None
    if len(lines) < 2:
        raise FileRefused("the file has no data rows")
    columns = _header(lines[0], DELETE_COLUMNS if delete else UPLOAD_COLUMNS)
    if not delete and "Expenses" not in columns:
        raise FileRefused("the required column Expenses is missing")
    if not delete and "UTMSource" not in columns and "TrafficSource" not in columns:
        raise FileRefused("the file needs a UTMSource or a TrafficSource column")
    rows: list[dict[str, object]] = []
    for line, cells in enumerate(lines[1:], 2):
        if len(cells) != len(columns):
            raise FileRefused(f"line {line} has {len(cells)} fields, the header {len(columns)}")
        record = dict(zip(columns, cells, strict=True))
        days = _days(record.pop("Date"), line)
        if delete:
            rows += [{"Date": day, **record} for day in days]
            continue
        total = _amount(record.pop("Expenses"), line)
        rows += [{"Date": day, **record, "Expenses": total / len(days)} for day in days]
    return ExpensesFile(rows, len(lines) - 1)
