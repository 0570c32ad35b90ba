"""Normalise ``create_date_time`` to one documented format in the counter's time zone.

Values with a time are written as ``yyyy-MM-dd HH:mm:ss`` and date-only values as ``yyyy-MM-dd`` (Metrika
reads those as 23:59 of the day). Fractions of a second are dropped.

Zones: Metrika reads every value in the counter's zone. A value with a UTC offset (or an aware timestamp)
is converted to it. A naive value with a time is taken to be in the source zone (the counter's unless told
otherwise) and converted: a time that does not exist there (skipped by a DST change) is moved forward to
the end of the gap, e.g. 02:30 -> 03:00; a time that occurs twice (clocks set back) is the first of the
two. A date without a time is a calendar day and is never shifted.

Two-digit years: ``dd.MM.yy`` is always read as 20yy (the docs do not say which century Metrika
assumes; 19yy would be refused as pre-1970 anyway). A date more than one day past the preparation time in
the counter's zone is invalid, which catches ``31.12.99`` read as 2099. A date without a time is judged by
the start of its day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.date_layouts import DateParts, parse_layouts
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import decode_utf8, empty_strings

COLUMN = "create_date_time"
REASON_EMPTY = "is empty: create_date_time is required"
REASON_FORMAT = (
    "is not a date in a supported format (dd.MM.yyyy, dd.MM.yy or yyyy-MM-dd, optionally with HH:mm "
    "or HH:mm:ss; or ISO 8601)"
)
REASON_RANGE = "is not a real date or time (day, month, hour, minute or second out of range)"
REASON_PRE_1970 = "is before 1970-01-01, which Metrika does not accept"
REASON_FUTURE = (
    "is more than one day in the future (after {latest} in {zone}, the counter's time zone, when the "
    "orders were prepared): check the year (two-digit years are read as 20yy) and the time zones"
)

_TIME = r"(?P<H>[0-9]{2}):(?P<M>[0-9]{2})"
DOTTED_PATTERN = (
    rf"^(?P<d>[0-9]{{2}})\.(?P<m>[0-9]{{2}})\.(?P<y>[0-9]{{4}}|[0-9]{{2}})"
    rf"(?: {_TIME}(?::(?P<S>[0-9]{{2}}))?)?$"
)
# The documented yyyy-MM-dd[ HH:mm[:ss]] plus ISO 8601: a T, a fraction, a Z or an offset.
DASHED_PATTERN = (
    rf"^(?P<y>[0-9]{{4}})-(?P<m>[0-9]{{2}})-(?P<d>[0-9]{{2}})(?:[ T]{_TIME}"
    r"(?::(?P<S>[0-9]{2})(?:[.,][0-9]+)?)?(?P<tz>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$"
)
_OFFSET_PATTERN = r"^(?P<sign>[+-])(?P<hh>[0-9]{2}):?(?P<mm>[0-9]{2})?$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Return days since 1970-01-01 for proleptic Gregorian dates (H. Hinnant's algorithm, vectorised).

    :param year: years (0 or later).
    :param month: months 1..12.
    :param day: days of the month.
    """
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    limit = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= limit)


def _field(structs: list[pa.StructArray], name: str) -> np.ndarray:
    """Return a named group of the first matching pattern as ints (0 where absent)."""
    text = pc.coalesce(*(pc.struct_field(struct, name) for struct in structs if name in struct.type.names))
    text = pc.if_else(pc.equal(text.fill_null(""), ""), "0", text)
    return text.cast(pa.int64()).to_numpy()


def _present(structs: list[pa.StructArray], name: str) -> np.ndarray:
    """Return which values matched the optional group ``name``."""
    text = pc.coalesce(*(pc.struct_field(struct, name) for struct in structs)).fill_null("")
    return pc.not_equal(text, "").to_numpy(zero_copy_only=False)


def _offset_seconds(zone: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the UTC offset in seconds of each value, and which values had one."""
    zone = zone.fill_null("")
    has_zone = pc.not_equal(zone, "").to_numpy(zero_copy_only=False)
    parts = pc.extract_regex(pc.if_else(pc.equal(pc.ascii_upper(zone), "Z"), "+00", zone), _OFFSET_PATTERN)
    hours, minutes = _field([parts], "hh"), _field([parts], "mm")
    sign = np.where(pc.equal(pc.struct_field(parts, "sign"), "-").fill_null(False).to_numpy(False), -1, 1)
    return sign * (hours * 3600 + minutes * 60), has_zone


def _to_zone_wall_clock(utc_seconds: np.ndarray, timezone: str) -> np.ndarray:
    """Return the wall-clock seconds in ``timezone`` of UTC instants."""
    instants = pa.array(utc_seconds, pa.timestamp("s", tz=timezone))
    return pc.local_timestamp(instants).cast(pa.int64()).to_numpy()


def _from_zone_wall_clock(wall_seconds: np.ndarray, timezone: str) -> np.ndarray:
    """Return the UTC instants of wall-clock seconds in ``timezone``, DST gaps and overlaps resolved.

    A time in a gap is moved to the end of the gap; a time in an overlap is its first occurrence.
    """
    naive = pa.array(wall_seconds, pa.timestamp("s"))
    aware = pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest", nonexistent="latest")
    return aware.cast(pa.int64()).to_numpy()


@dataclass(frozen=True)
class DateZones:
    """The zones of one run and the latest accepted date.

    :param counter: the counter's IANA zone: values are written in it.
    :param source: the IANA zone of naive input values (usually the counter's).
    :param latest: the latest accepted value, as wall-clock seconds since 1970 in the counter's zone;
        None accepts any.
    """

    counter: str
    source: str
    latest: int | None = None

    def naive_to_counter(self, wall_seconds: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Return the values with a naive wall clock in the source zone re-expressed in the counter's.

        :param wall_seconds: wall-clock seconds since 1970.
        :param rows: which values are naive and have a time (the others are returned unchanged).
        """
        if self.source == self.counter or not rows.any():
            return wall_seconds
        instants = _from_zone_wall_clock(np.where(rows, wall_seconds, 0), self.source)
        return np.where(rows, _to_zone_wall_clock(instants, self.counter), wall_seconds)

    def future_reason(self) -> str:
        """Return the reason given to values later than :attr:`latest`."""
        latest = pa.array([self.latest or 0], pa.timestamp("s")).cast(pa.string())[0].as_py()
        return REASON_FUTURE.format(latest=latest, zone=self.counter)


def _format(seconds: np.ndarray, has_time: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Render wall-clock seconds as ``yyyy-MM-dd HH:mm:ss`` or ``yyyy-MM-dd``, ``""`` where not ``ok``."""
    safe = np.where(ok, seconds, 0)
    with_time = pa.array(safe, pa.timestamp("s")).cast(pa.string())
    if has_time.all():
        return pc.if_else(pa.array(ok), with_time, "")
    date_only = pa.array((safe // 86400).astype(np.int32), pa.date32()).cast(pa.string())
    return pc.if_else(pa.array(ok), pc.if_else(pa.array(has_time), with_time, date_only), "")


def _parts_by_regex(text: pa.Array) -> DateParts:
    """Parse any documented or ISO 8601 form; slower, so only for strings no fixed layout fits."""
    dotted = pc.extract_regex(text, DOTTED_PATTERN)
    dashed = pc.extract_regex(text, DASHED_PATTERN)
    structs = [dotted, dashed]
    parts = DateParts.empty(len(text))
    parts.matched = dotted.is_valid().to_numpy(False) | dashed.is_valid().to_numpy(False)
    year = _field(structs, "y")
    parts.year = np.where(year < 100, year + 2000, year)  # dd.MM.yy
    parts.month, parts.day = _field(structs, "m"), _field(structs, "d")
    parts.hour, parts.minute, parts.second = _field(structs, "H"), _field(structs, "M"), _field(structs, "S")
    parts.offset, parts.has_zone = _offset_seconds(pc.struct_field(dashed, "tz"))
    parts.has_time = _present(structs, "H") | parts.has_zone
    return parts


def _parse_text(text: pa.Array, zones: DateZones, problems: BatchProblems) -> pa.Array:
    text = pc.utf8_trim_whitespace(text.fill_null(""))
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    parts = parse_layouts(text.cast(pa.string()))
    rest = ~parts.matched & ~empty
    if rest.any():
        parts.assign(np.flatnonzero(rest), _parts_by_regex(text.filter(pa.array(rest))))
    problems.add(COLUMN, REASON_EMPTY, empty)
    problems.add(COLUMN, REASON_FORMAT, ~parts.matched & ~empty)
    real = _real_date(parts.year, parts.month, parts.day)
    real &= (parts.hour <= 23) & (parts.minute <= 59) & (parts.second <= 59)
    problems.add(COLUMN, REASON_RANGE, parts.matched & ~real)
    ok = parts.matched & real
    days = days_from_civil(
        np.where(ok, parts.year, 1970), np.where(ok, parts.month, 1), np.where(ok, parts.day, 1)
    )
    seconds = days * 86400 + parts.hour * 3600 + parts.minute * 60 + parts.second
    zoned = parts.has_zone & ok
    if zoned.any():
        seconds = np.where(zoned, _to_zone_wall_clock(seconds - parts.offset, zones.counter), seconds)
    seconds = zones.naive_to_counter(seconds, ok & parts.has_time & ~parts.has_zone)
    return _finish(seconds, parts.has_time, ok, problems, zones)


def _finish(
    seconds: np.ndarray, has_time: np.ndarray, ok: np.ndarray, problems: BatchProblems, zones: DateZones
) -> pa.Array:
    early = ok & (seconds < 0)
    problems.add(COLUMN, REASON_PRE_1970, early)
    valid = ok & ~early
    if zones.latest is not None:
        late = valid & (seconds > zones.latest)
        if late.any():
            problems.add(COLUMN, zones.future_reason(), late)
            valid &= ~late
    return _format(seconds, has_time, valid)


def _from_timestamps(array: pa.Array, zones: DateZones, problems: BatchProblems) -> pa.Array:
    naive = array.type.tz is None
    if not naive:
        array = pc.local_timestamp(array.cast(pa.timestamp(array.type.unit, tz=zones.counter)))
    present = array.is_valid().to_numpy(zero_copy_only=False)
    problems.add(COLUMN, REASON_EMPTY, ~present)
    ticks = array.cast(pa.int64()).fill_null(0).to_numpy()
    seconds = ticks // _UNIT_PER_SECOND[array.type.unit]  # floor: 1969-12-31 23:59:59.5 stays in 1969
    if naive:
        seconds = zones.naive_to_counter(seconds, present)
    return _finish(seconds, np.ones(len(array), dtype=bool), present, problems, zones)


def _from_dates(array: pa.Array, zones: DateZones, problems: BatchProblems) -> pa.Array:
    present = array.is_valid().to_numpy(zero_copy_only=False)
    problems.add(COLUMN, REASON_EMPTY, ~present)
    days = array.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy().astype(np.int64)
    return _finish(days * 86400, np.zeros(len(array), dtype=bool), present, problems, zones)


def normalise_dates(
    array: pa.Array,
    timezone: str,
    problems: BatchProblems,
    *,
    source_timezone: str | None = None,
    latest: int | None = None,
) -> pa.Array:
    """Return ``create_date_time`` in the documented output format, ``""`` for rows with a problem.

    :param array: the column: text, dates, or timestamps (naive: in ``source_timezone``; aware:
        converted).
    :param timezone: the counter's IANA time zone, in which values are written.
    :param problems: where to record empty, unparsable, impossible, pre-1970 or future values.
    :param source_timezone: the IANA zone of naive values with a time (default: ``timezone``).
    :param latest: the latest accepted value, as wall-clock seconds since 1970 in ``timezone``.
    """
    zones = DateZones(timezone, source_timezone or timezone, latest)
    return _normalise(array, zones, problems)


def _normalise(array: pa.Array, zones: DateZones, problems: BatchProblems) -> pa.Array:
    kind = array.type
    if pa.types.is_dictionary(kind):
        return _normalise(array.dictionary_decode(), zones, problems)
    if pa.types.is_timestamp(kind):
        return _from_timestamps(array, zones, problems)
    if pa.types.is_date(kind):
        return _from_dates(array, zones, problems)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        array = decode_utf8(array)[0]
    if pa.types.is_null(kind):
        array = empty_strings(len(array))
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise OrdersInputError(
            f"column {COLUMN} has type {kind}: expected dates, datetimes or text such as "
            "'2024-01-10 11:56:00'; numbers such as Unix timestamps are not accepted (convert them, "
            "e.g. pd.to_datetime(col, unit='s', utc=True))"
        )
    return _parse_text(array, zones, problems)
