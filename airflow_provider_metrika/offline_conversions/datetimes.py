"""Read ``DateTime`` from any input type and write it as Metrika reads it: Unix seconds.

Accepted: timezone-aware timestamps (converted); naive timestamps and naive ISO 8601 strings
(``2024-01-10 11:56``, ``2024-01-10T11:56:30.5``), read in the naive zone; ISO 8601 strings with
``Z`` or an offset; Unix seconds as integers, floats or numeric strings. Written as whole seconds,
a fraction kept with a dot (its trailing zeros dropped: ``.500`` is written ``.5``).

Choices where Metrika's documentation is silent:

- a naive time skipped by a DST change (02:30 when clocks jump from 02:00 to 03:00) is moved to the
  end of the gap (03:00); a naive time that occurs twice is the first of the two;
- a date without a time of day is refused: a conversion is matched to the visit before it, and a date
  alone would be read as midnight, before every visit of that day;
- a number of more than 11 integer digits is refused as milliseconds (it would be after the year 5000);
- a time after ``now`` is refused (Metrika refuses a future time); there is no tolerance, because
  Metrika's clock decides, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.offline_conversions.columns import DATE_TIME
from airflow_provider_metrika.offline_conversions.errors import ConversionsInputError
from airflow_provider_metrika.simple_orders.dates import days_from_civil
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import decode_utf8

REASON_EMPTY = "is empty: DateTime is required"
REASON_FORMAT = (
    "is not a time Metrika can take: write Unix seconds (1704873600) or ISO 8601 with a time "
    "(2024-01-10 11:56:00, 2024-01-10T08:56:00Z, 2024-01-10T11:56:00+03:00)"
)
REASON_DATE_ONLY = (
    "is a date without a time of day: a conversion links to the visit before it, so give the time "
    "it happened (a date alone would mean midnight, before every visit of that day)"
)
REASON_RANGE = "is not a real date or time (day, month, hour, minute or second out of range)"
REASON_PRE_1970 = "is before 1970-01-01"
REASON_MILLIS = (
    "is too large for Unix seconds (after the year 5000): milliseconds or microseconds? divide by 1000"
)
REASON_FUTURE = "is in the future (after {now} UTC, when the file was prepared): Metrika refuses it"

#: More integer digits than this cannot be Unix seconds (100,000,000,000 s is in the year 5138).
MAX_SECOND_DIGITS = 11
_NUMERIC = r"^(?P<sign>[+-]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]*))?$"
_ISO = (
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[Tt ](?P<H>[0-9]{2}):(?P<M>[0-9]{2})"
    r"(?::(?P<S>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?"
    r"(?P<tz>[Zz]|(?P<sign>[+-])(?P<hh>[0-9]{2})(?::?(?P<mm>[0-9]{2}))?)?$"
)
_DATE_ONLY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class TimeRules:
    """How to read naive times, and the moment no time may be after.

    :param naive_zone: the IANA zone of naive timestamps and strings.
    :param now: the preparation moment, Unix seconds.
    """

    naive_zone: str
    now: float


@dataclass
class Times:
    """``DateTime`` of one batch as written, and as seconds for the report.

    :param text: the values as written, ``""`` for refused rows.
    :param seconds: whole Unix seconds (0 for refused rows).
    :param ok: which rows hold a valid time.
    """

    text: pa.Array
    seconds: np.ndarray
    ok: np.ndarray


def _utc_from_wall(wall: np.ndarray, zone: str) -> np.ndarray:
    """Return the Unix seconds of wall-clock seconds in ``zone`` (gaps: end of the gap; overlaps: first)."""
    naive = pa.array(wall, pa.timestamp("s"))
    aware = pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="latest")
    return aware.cast(pa.int64()).to_numpy()


def _group(parts: pa.StructArray, name: str) -> pa.Array:
    return pc.struct_field(parts, name).fill_null("")


def _ints(text: pa.Array) -> np.ndarray:
    return pc.if_else(pc.equal(text, ""), "0", text).cast(pa.int64()).to_numpy()


def _fraction_text(digits: pa.Array) -> pa.Array:
    """Return ``.5`` for ``500``, ``""`` for ``""`` or ``000``."""
    trimmed = pc.replace_substring_regex(digits, "0+$", "")
    return pc.if_else(pc.equal(trimmed, ""), "", pc.binary_join_element_wise(".", trimmed, ""))


def _finish(
    seconds: np.ndarray, fraction: pa.Array, ok: np.ndarray, rules: TimeRules, problems: BatchProblems
) -> Times:
    early = ok & (seconds < 0)
    problems.add(DATE_TIME, REASON_PRE_1970, early)
    ok = ok & ~early
    has_fraction = pc.not_equal(fraction, "").to_numpy(zero_copy_only=False)
    late = ok & ((seconds > rules.now) | ((seconds >= rules.now) & has_fraction))
    if late.any():
        shown = pa.array([int(rules.now)], pa.timestamp("s")).cast(pa.string())[0].as_py()
        problems.add(DATE_TIME, REASON_FUTURE.format(now=shown.replace(" ", "T")), late)
        ok = ok & ~late
    whole = pa.array(np.where(ok, seconds, 0)).cast(pa.string())
    text = pc.if_else(pa.array(ok), pc.binary_join_element_wise(whole, fraction, ""), "")
    return Times(text, np.where(ok, seconds, 0), ok)


def _from_timestamps(array: pa.Array, rules: TimeRules, problems: BatchProblems) -> Times:
    present = array.is_valid().to_numpy(zero_copy_only=False)
    problems.add(DATE_TIME, REASON_EMPTY, ~present)
    per = _PER_SECOND[array.type.unit]
    ticks = array.cast(pa.int64()).fill_null(0).to_numpy()
    seconds, rest = ticks // per, ticks % per  # floor: half a second before 1970 stays before 1970
    if array.type.tz is None:
        seconds = np.where(present, _utc_from_wall(np.where(present, seconds, 0), rules.naive_zone), 0)
    width = len(str(per)) - 1
    digits = (
        pc.utf8_lpad(pa.array(rest).cast(pa.string()), width, "0") if width else pa.array([""] * len(rest))
    )
    return _finish(seconds, _fraction_text(digits), present, rules, problems)


def _from_numbers(array: pa.Array, rules: TimeRules, problems: BatchProblems) -> Times:
    """Read integers, decimals and floats as Unix seconds, kept as written (NaN is an empty cell)."""
    if pa.types.is_floating(array.type):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls read as NaN
        huge = np.abs(np.nan_to_num(values)) >= 10.0**MAX_SECOND_DIGITS  # written with an exponent
        problems.add(DATE_TIME, REASON_MILLIS, huge)
        text = pa.array(np.where(huge, 0.0, values), mask=np.isnan(values)).cast(pa.string())
        return _from_text(pc.if_else(pa.array(huge), "", text.fill_null("")), rules, problems, ~huge)
    return _from_text(array.cast(pa.string()).fill_null(""), rules, problems)


def _real(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    limit = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= limit)


def _iso_seconds(parts: pa.StructArray, rules: TimeRules) -> tuple[np.ndarray, np.ndarray]:
    """Return the Unix seconds of ISO matches and which of them name a real date and time."""
    year, month, day = (_ints(_group(parts, name)) for name in ("y", "m", "d"))
    hour, minute, second = (_ints(_group(parts, name)) for name in ("H", "M", "S"))
    real = _real(year, month, day) & (hour <= 23) & (minute <= 59) & (second <= 59)
    days = days_from_civil(np.where(real, year, 1970), np.where(real, month, 1), np.where(real, day, 1))
    wall = days * 86400 + hour * 3600 + minute * 60 + second
    zone = _group(parts, "tz")
    naive = pc.equal(zone, "").to_numpy(zero_copy_only=False)
    sign = np.where(pc.equal(_group(parts, "sign"), "-").to_numpy(zero_copy_only=False), -1, 1)
    offset = sign * (_ints(_group(parts, "hh")) * 3600 + _ints(_group(parts, "mm")) * 60)
    if naive.any():
        local = _utc_from_wall(np.where(naive & real, wall, 0), rules.naive_zone)
        return np.where(naive, local, wall - offset), real
    return wall - offset, real


def _from_text(
    text: pa.Array, rules: TimeRules, problems: BatchProblems, check: np.ndarray | None = None
) -> Times:
    """Read ISO 8601 text or Unix seconds; rows outside ``check`` are refused already."""
    text = pc.utf8_trim_whitespace(text)
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    if check is not None:
        empty = empty & check
    problems.add(DATE_TIME, REASON_EMPTY, empty)
    number = pc.extract_regex(text, _NUMERIC)
    iso = pc.extract_regex(text, _ISO)
    is_number = number.is_valid().to_numpy(zero_copy_only=False)
    is_iso = iso.is_valid().to_numpy(zero_copy_only=False)
    date_only = pc.match_substring_regex(text, _DATE_ONLY).to_numpy(zero_copy_only=False)
    problems.add(DATE_TIME, REASON_DATE_ONLY, date_only)
    problems.add(
        DATE_TIME, REASON_FORMAT, ~(empty | is_number | is_iso | date_only) & (check is None or check)
    )
    negative = is_number & pc.equal(_group(number, "sign"), "-").to_numpy(zero_copy_only=False)
    problems.add(DATE_TIME, REASON_PRE_1970, negative)
    whole = _group(number, "int")
    too_long = is_number & (pc.utf8_length(pc.utf8_ltrim(whole, "0")).to_numpy(False) > MAX_SECOND_DIGITS)
    problems.add(DATE_TIME, REASON_MILLIS, too_long & ~negative)
    number_ok = is_number & ~too_long & ~negative
    from_number = np.where(number_ok, _ints(pc.if_else(pa.array(number_ok), whole, "0")), 0)
    from_iso, real = _iso_seconds(iso, rules)
    problems.add(DATE_TIME, REASON_RANGE, is_iso & ~real)
    seconds = np.where(is_iso, from_iso, from_number)
    fraction = pc.if_else(pa.array(is_iso), _group(iso, "frac"), _group(number, "frac"))
    return _finish(seconds, _fraction_text(fraction), number_ok | (is_iso & real), rules, problems)


def normalise_times(array: pa.Array, rules: TimeRules, problems: BatchProblems) -> Times:
    """Return ``DateTime`` as Unix seconds text; record every refused value in ``problems``.

    :param array: the column: timestamps, integers, floats, decimals or text.
    :param rules: the naive zone and the preparation moment.
    :param problems: where refused values are recorded.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        return normalise_times(array.dictionary_decode(), rules, problems)
    if pa.types.is_timestamp(kind):
        return _from_timestamps(array, rules, problems)
    if pa.types.is_date(kind):
        present = array.is_valid().to_numpy(zero_copy_only=False)
        problems.add(DATE_TIME, REASON_EMPTY, ~present)
        problems.add(DATE_TIME, REASON_DATE_ONLY, present)
        return Times(pa.array([""] * len(array)), np.zeros(len(array), np.int64), np.zeros(len(array), bool))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _from_numbers(array, rules, problems)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        array = decode_utf8(array)[0]
    if pa.types.is_null(kind):
        array = pa.array([""] * len(array))
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise ConversionsInputError(
            f"column {DATE_TIME} has type {kind}: give timestamps, Unix seconds or ISO 8601 text"
        )
    return _from_text(array.cast(pa.string()).fill_null(""), rules, problems)
