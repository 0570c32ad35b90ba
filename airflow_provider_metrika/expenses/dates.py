"""Read ``Date``: a day or a range of days, written as Metrika takes it, with the days each row covers.

A day is a date, a datetime at midnight (in its own zone when it has one) or ``YYYY-MM-DD`` text; a range
is ``YYYY-MM-DD/YYYY-MM-DD`` text, start not after end, over which Metrika spreads the row's amounts
evenly. Values are parsed once per distinct value: an expenses file holds few distinct days.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.expenses.columns import DATE, MAX_RANGE_DAYS
from airflow_provider_metrika.simple_orders.problems import BatchProblems

REASON_EMPTY = "is empty: every row needs its Date"
REASON_FORMAT = (
    "is not a day (YYYY-MM-DD, a date, or a datetime at midnight) nor a range YYYY-MM-DD/YYYY-MM-DD"
)
REASON_NOT_MIDNIGHT = (
    "is a datetime with a time of day: Metrika takes days; pass the date (e.g. df['Date'].dt.date) "
    "or a YYYY-MM-DD text"
)
REASON_RANGE_ORDER = "is a range that ends before it starts: write start/end with start <= end"
REASON_RANGE_LONG = f"is a range longer than {MAX_RANGE_DAYS} days: check the years"

_DAY = r"(\d{4})-(\d{2})-(\d{2})"
_DAY_TEXT = re.compile(rf"^{_DAY}$")
_RANGE_TEXT = re.compile(rf"^{_DAY}/{_DAY}$")


@dataclass(frozen=True)
class DateColumn:
    """One batch's ``Date``: the text written, and per row the first day (ordinal) and the day count.

    :param text: the value as written, ``""`` where refused.
    :param start: per row, :meth:`datetime.date.toordinal` of the first day (0 where refused).
    :param days: per row, the days covered (0 where refused).
    """

    text: pa.Array
    start: np.ndarray
    days: np.ndarray


def _day(groups: tuple[str, ...]) -> dt.date | None:
    try:
        return dt.date(int(groups[0]), int(groups[1]), int(groups[2]))
    except ValueError:
        return None


def _parse_text(value: str) -> tuple[str, int, int] | str:
    match = _DAY_TEXT.match(value)
    if match:
        day = _day(match.groups())
        return REASON_FORMAT if day is None else (value, day.toordinal(), 1)
    match = _RANGE_TEXT.match(value)
    if not match:
        return REASON_FORMAT
    first, last = _day(match.groups()[:3]), _day(match.groups()[3:])
    if first is None or last is None:
        return REASON_FORMAT
    if last < first:
        return REASON_RANGE_ORDER
    days = last.toordinal() - first.toordinal() + 1
    if days > MAX_RANGE_DAYS:
        return REASON_RANGE_LONG
    return (value, first.toordinal(), days) if days > 1 else (first.isoformat(), first.toordinal(), 1)


def parse_date(value: object) -> tuple[str, int, int] | str:
    """Return ``(text written, first day ordinal, days)`` for one ``Date`` value, or the refusal reason.

    :param value: a date, a datetime, text or bytes (None: empty).
    """
    if value is None or value == "" or value == b"":
        return REASON_EMPTY
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            return REASON_NOT_MIDNIGHT
        return value.date().isoformat(), value.toordinal(), 1
    if isinstance(value, dt.date):
        return value.isoformat(), value.toordinal(), 1
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return REASON_FORMAT
    if isinstance(value, str):
        return _parse_text(value)
    return REASON_FORMAT


def date_column(array: pa.Array, problems: BatchProblems) -> DateColumn:
    """Return a batch's ``Date`` as written and the days each row covers; record refused values.

    :param array: the column: dates, timestamps, text or bytes.
    :param problems: where refused values are recorded.
    """
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    uniques = pc.unique(array)
    index = pc.index_in(array, value_set=uniques, skip_nulls=False).to_numpy(zero_copy_only=False)
    parsed = [parse_date(value) for value in uniques.to_pylist()]
    texts = [item[0] if isinstance(item, tuple) else "" for item in parsed]
    starts = np.array([item[1] if isinstance(item, tuple) else 0 for item in parsed], dtype=np.int64)
    days = np.array([item[2] if isinstance(item, tuple) else 0 for item in parsed], dtype=np.int64)
    for reason in (REASON_EMPTY, REASON_FORMAT, REASON_NOT_MIDNIGHT, REASON_RANGE_ORDER, REASON_RANGE_LONG):
        bad = np.array([item == reason for item in parsed], dtype=bool)
        problems.add(DATE, reason, bad[index])
    text = pa.array(texts, pa.string()).take(pa.array(index))
    return DateColumn(text, starts[index], days[index])


def expand_days(start: int, days: int) -> list[str]:
    """Return the ISO days from a first day's ordinal, ``days`` of them.

    :param start: :meth:`datetime.date.toordinal` of the first day.
    :param days: how many days.
    """
    return [dt.date.fromordinal(start + offset).isoformat() for offset in range(days)]
