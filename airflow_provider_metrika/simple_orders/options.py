"""Check ``prepare_simple_orders`` arguments up front and keep them in one frozen object."""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.constants import (
    DECIMALS,
    DUPLICATES,
    MIN_PART_BYTES,
    ON_INVALID,
    UNKNOWN_COLUMNS,
)
from airflow_provider_metrika.simple_orders.columns import MAX_FILE_BYTES, SIMPLE_ORDERS_COLUMNS

DELIMITERS = {"COMMA": ",", "SEMICOLON": ";"}
#: How far past the preparation time a ``create_date_time`` may be (clock skew, orders made overnight).
FUTURE_TOLERANCE = dt.timedelta(days=1)


@dataclass(frozen=True)
class PrepareOptions:
    """Validated arguments of one preparation run."""

    timezone: str
    columns: Mapping[str, str] = field(default_factory=dict)
    status_map: Mapping[str, str] = field(default_factory=dict)
    hash_identifiers: bool = False
    on_invalid: str = "fail"
    max_invalid_fraction: float = 0.0
    duplicates: str = "error"
    unknown_columns: str = "error"
    rewrite_leading_8: bool = False
    delimiter: str = "COMMA"
    max_part_bytes: int = MAX_FILE_BYTES
    batch_rows: int = 200_000
    progress: Callable[[int], object] | None = None
    #: The zone of naive input timestamps; None means the counter's (``timezone``).
    source_timezone: str | None = None
    #: The latest accepted ``create_date_time``, as wall-clock seconds since 1970 in ``timezone``.
    latest_date_time: int | None = None

    decimal: str | None = None
    now: dt.datetime | None = None

    @property
    def naive_timezone(self) -> str:
        """Return the zone naive input timestamps are read in."""
        return self.source_timezone or self.timezone

    @property
    def separator(self) -> str:
        """Return the output field separator character."""
        return DELIMITERS[self.delimiter]


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(item) for item in allowed)
        raise ValueError(f"{name} must be one of {shown}, got {value!r}")


def _flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_timezone(timezone: object, name: str = "timezone") -> str:
    """Return ``timezone`` if both Python and Arrow know it, else raise ValueError.

    :param timezone: an IANA time zone name such as ``Europe/Moscow``.
    :param name: the argument's name, for the message.
    """
    if not isinstance(timezone, str) or not timezone:
        raise ValueError(f"{name} must be an IANA time zone name such as 'Europe/Moscow', got {timezone!r}")
    try:
        zoneinfo.ZoneInfo(timezone)
        pc.local_timestamp(pa.array([0], pa.timestamp("s", tz=timezone)))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, pa.ArrowException) as exc:
        raise ValueError(
            f"{name} {timezone!r} is not a known IANA time zone name (e.g. 'Europe/Moscow')"
        ) from exc
    return timezone


def latest_date_time(now: object, timezone: str) -> int:
    """Return the latest accepted order time: ``now`` plus a day, as wall-clock seconds in ``timezone``.

    :param now: the preparation time, an aware ``datetime``; None for the current time.
    :param timezone: the counter's zone.
    """
    if now is None:
        now = dt.datetime.now(dt.UTC)
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    local = (now + FUTURE_TOLERANCE).astimezone(zoneinfo.ZoneInfo(timezone))
    return calendar.timegm(local.replace(tzinfo=None).timetuple())


def check_columns(columns: object) -> dict[str, str]:
    """Return the rename mapping if every target is a documented column and no two share one.

    :param columns: mapping of input column name -> Metrika column name, or None.
    """
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ValueError(f"columns must be a mapping of input column -> Metrika column, got {columns!r}")
    allowed = ", ".join(SIMPLE_ORDERS_COLUMNS)
    seen: dict[str, str] = {}
    for source, target in columns.items():
        if not isinstance(source, str) or target not in SIMPLE_ORDERS_COLUMNS:
            raise ValueError(f"columns maps {source!r} to {target!r}; targets must be one of: {allowed}")
        if target in seen:
            raise ValueError(f"columns maps both {seen[target]!r} and {source!r} to {target!r}")
        seen[target] = source
    return dict(columns)


def check_status_map(status_map: object) -> dict[str, str]:
    """Return the status mapping if it maps strings to strings.

    :param status_map: mapping of CRM status -> Metrika status or goal id, or None.
    """
    if status_map is None:
        return {}
    if not isinstance(status_map, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in status_map.items()
    ):
        raise ValueError(
            f"status_map must map CRM status strings to Metrika status strings, got {status_map!r}"
        )
    return dict(status_map)


def _check_numbers(max_invalid_fraction: object, max_part_bytes: object, batch_rows: object) -> None:
    if (
        not isinstance(max_invalid_fraction, int | float)
        or isinstance(max_invalid_fraction, bool)
        or not 0.0 <= max_invalid_fraction <= 1.0
    ):
        raise ValueError(
            f"max_invalid_fraction must be a number from 0.0 to 1.0, got {max_invalid_fraction!r}"
        )
    if (
        not isinstance(max_part_bytes, int)
        or isinstance(max_part_bytes, bool)
        or not MIN_PART_BYTES <= max_part_bytes <= MAX_FILE_BYTES
    ):
        raise ValueError(
            f"max_part_bytes must be an int from {MIN_PART_BYTES} to {MAX_FILE_BYTES} "
            f"(Metrika accepts at most 1 GB per file), got {max_part_bytes!r}"
        )
    if not isinstance(batch_rows, int) or isinstance(batch_rows, bool) or batch_rows < 1:
        raise ValueError(f"batch_rows must be a positive int, got {batch_rows!r}")


def build_options(
    *,
    timezone: object,
    columns: object,
    status_map: object,
    hash_identifiers: object,
    on_invalid: object,
    max_invalid_fraction: object,
    duplicates: object,
    unknown_columns: object,
    rewrite_leading_8: object,
    delimiter: object,
    max_part_bytes: object,
    batch_rows: object,
    progress: object,
    source_timezone: object = None,
    decimal: object = None,
    now: object = None,
) -> PrepareOptions:
    """Validate every argument and return :class:`PrepareOptions`; raise ValueError naming the first bad one.

    :param timezone: see :func:`prepare_simple_orders` for every parameter.
    """
    _choice("on_invalid", on_invalid, ON_INVALID)
    _choice("duplicates", duplicates, DUPLICATES)
    _choice("unknown_columns", unknown_columns, UNKNOWN_COLUMNS)
    _choice("delimiter", delimiter, tuple(DELIMITERS))
    _flag("hash_identifiers", hash_identifiers)
    _flag("rewrite_leading_8", rewrite_leading_8)
    _check_numbers(max_invalid_fraction, max_part_bytes, batch_rows)
    if decimal is not None and decimal not in DECIMALS:
        raise ValueError(f"decimal must be '.', ',' or None (pick from the input), got {decimal!r}")
    if now is not None and not isinstance(now, dt.datetime):
        raise ValueError(f"now must be a datetime (the moment of the upload) or None, got {now!r}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable taking the number of rows done, got {progress!r}")
    counter_zone = check_timezone(timezone)
    source_zone = None if source_timezone is None else check_timezone(source_timezone, "source_timezone")
    return PrepareOptions(
        timezone=counter_zone,
        source_timezone=source_zone,
        latest_date_time=latest_date_time(now, counter_zone),
        columns=check_columns(columns),
        status_map=check_status_map(status_map),
        hash_identifiers=bool(hash_identifiers),
        on_invalid=str(on_invalid),
        max_invalid_fraction=float(cast(float, max_invalid_fraction)),
        duplicates=str(duplicates),
        unknown_columns=str(unknown_columns),
        rewrite_leading_8=bool(rewrite_leading_8),
        delimiter=str(delimiter),
        max_part_bytes=cast(int, max_part_bytes),
        batch_rows=cast(int, batch_rows),
        progress=cast("Callable[[int], object] | None", progress),
        decimal=cast("str | None", decimal),
        now=now,
    )
