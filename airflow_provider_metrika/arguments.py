"""Checks of public arguments, one per kind of value, shared by the hook, the operators and the sensor.

Each raises :class:`MetrikaInvalidArgumentError` naming the argument, what it must be and the value
given, before any request. Template strings (``{{ ... }}``) are left to be checked once rendered. (The
orders core checks its own options with plain ``ValueError``: it runs without Airflow.)
"""

from __future__ import annotations

import ast
import json
import math
import os
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow_provider_metrika.constants import MAX_HTTP_SECONDS, MAX_WAIT_SECONDS
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

_MAX_COUNTER_ID = 2**31 - 1
#: Longest multipart file name sent; Metrika's limit is undocumented, file systems stop at 255 bytes.
MAX_FILENAME_CHARS = 200


def is_template(value: Any) -> bool:
    """Tell whether a value is a Jinja template, rendered only when the task runs."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_counter_id(counter_id: Any, parameter: str = "counter_id") -> int:
    """
    Return a counter id as an int, or raise a clear error before any request.

    :param counter_id: an int or a string of digits (templated values arrive as strings).
    :param parameter: the argument's name, for the message.
    """
    value: int | None = None
    if isinstance(counter_id, int) and not isinstance(counter_id, bool):
        value = counter_id
    elif isinstance(counter_id, str) and counter_id.strip().isdigit():
        value = int(counter_id.strip())
    if value is None or not 0 < value <= _MAX_COUNTER_ID:
        raise MetrikaInvalidArgumentError(
            f"{parameter} must be a positive integer (the number in the Metrika counter's URL), "
            f"got {counter_id!r}"
        )
    return value


def check_choice(parameter: str, value: Any, allowed: Sequence[str]) -> str:
    """
    Return ``value`` upper-cased when it is one of ``allowed``, or raise a clear error.

    :param parameter: the argument's name, for the message.
    :param value: the value given.
    :param allowed: the accepted values.
    """
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    raise MetrikaInvalidArgumentError(f"{parameter} must be one of {', '.join(allowed)}; got {value!r}")


def check_option(parameter: str, value: Any, allowed: Sequence[str]) -> str:
    """
    Return ``value`` when it is exactly one of ``allowed`` (lower-case option words), or raise.

    :param parameter: the argument's name, for the message.
    :param value: the value given.
    :param allowed: the accepted values.
    """
    if value not in allowed:
        raise MetrikaInvalidArgumentError(f"{parameter} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def read_flag(name: str, value: Any) -> bool:
    """Return a boolean argument; a rendered template's ``True`` / ``false`` text is read."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MetrikaInvalidArgumentError(f"{name} must be True or False; got {value!r}")


def read_mapping(name: str, value: Any, what: str) -> dict[str, str] | None:
    """Return a mapping argument as a dict; a rendered template's text (JSON or a Python repr) is read."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().startswith("{"):
        value = parse_literal(value.strip(), name)
    if not isinstance(value, Mapping):
        raise MetrikaInvalidArgumentError(
            f"{name} must be a mapping of {what}, e.g. {{'order_id': 'id'}}; got {str(value)[:100]!r}"
        )
    return dict(value) or None


def check_zone(name: str, zone: Any) -> str:
    """Return an IANA time zone name, or refuse it with a clear error."""
    if not isinstance(zone, str) or not zone.strip():
        raise MetrikaInvalidArgumentError(
            f"{name} must be an IANA time zone name such as Europe/Moscow or UTC; got {zone!r}"
        )
    try:
        zoneinfo.ZoneInfo(zone.strip())
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise MetrikaInvalidArgumentError(
            f"{name} {zone!r} is not a known IANA time zone (e.g. Europe/Moscow, UTC)"
        ) from None
    return zone.strip()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else f"{text[:100]}..."


def _bound(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _seconds_bound(value: float) -> str:
    days = value / 86_400
    return f"{_bound(value)} ({_bound(days)} days)" if days >= 1 and days.is_integer() else _bound(value)


def read_number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None,
    open_low: bool = False,
    integer: bool = False,
    text: bool = False,
    unit: str = "",
) -> float:
    """
    Return a finite number within its range, or raise naming the argument, the range and the value.

    :param name: the argument's name, for the message.
    :param value: the value given.
    :param low: the lower bound.
    :param high: the upper bound, or None.
    :param open_low: the lower bound itself is refused.
    :param integer: only integers are accepted.
    :param text: a number written as text (a rendered template) is read.
    :param unit: what the number counts, for the message (e.g. ``" of seconds"``).
    """
    number = value
    if text and isinstance(value, str):
        try:
            number = int(value.strip()) if integer else float(value.strip())
        except ValueError:
            number = None
    kinds = (int,) if integer else (int, float)
    ok = isinstance(number, kinds) and not isinstance(number, bool)
    if ok and isinstance(number, float):
        ok = math.isfinite(number)
    if ok:
        ok = (number > low if open_low else number >= low) and (high is None or number <= high)
    if not ok:
        bound = f"greater than {_bound(low)}" if open_low else f"at least {_bound(low)}"
        if high is not None:
            bound += f" and at most {_bound(high)}"
        kind = ("a whole number" if unit else "an integer") if integer else "a number"
        raise MetrikaInvalidArgumentError(f"{name} must be {kind}{unit} {bound}; got {_shown(value)}")
    return number  # an int stays an int (a float of 10**400 would overflow)


def check_seconds(
    name: str,
    value: Any,
    *,
    high: float = MAX_WAIT_SECONDS,
    zero: bool = False,
    optional: bool = False,
    allow_timedelta: bool = False,
    text: bool = False,
) -> float | None:
    """
    Return a wait or timeout in seconds, finite, greater than 0 (or 0 too) and at most ``high``.

    :param name: the argument's name, for the message.
    :param value: seconds, or a :class:`~datetime.timedelta` where allowed.
    :param high: the longest accepted (default 30 days).
    :param zero: 0 is accepted.
    :param optional: None is accepted (and returned).
    :param allow_timedelta: a timedelta is accepted.
    :param text: seconds written as text (a rendered template) are read.
    """
    if value is None and optional:
        return None
    seconds = value.total_seconds() if allow_timedelta and isinstance(value, timedelta) else value
    unit = " of seconds (or a timedelta)" if allow_timedelta else " of seconds"
    try:
        return float(read_number(name, seconds, low=0, high=high, open_low=not zero, text=text))
    except MetrikaInvalidArgumentError:
        raise MetrikaInvalidArgumentError(
            f"{name} must be a number{unit} {'at least 0' if zero else 'greater than 0'} and at most "
            f"{_seconds_bound(high)}; got {_shown(value)}"
        ) from None


def check_flags(flags: Mapping[str, Any]) -> None:
    """Refuse flags that are not ``True`` or ``False`` (the text ``"no"`` would count as True).

    :param flags: argument name -> value.
    """
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise MetrikaInvalidArgumentError(
                f"{name} must be True or False; got {value!r} (text such as 'no' would count as True)"
            )


def check_conn_id(name: str, value: Any) -> str:
    """Return an Airflow connection id: non-empty text.

    :param name: the argument's name, for the message.
    :param value: the value given.
    """
    if not isinstance(value, str) or not value.strip():
        raise MetrikaInvalidArgumentError(
            f"{name} must be a connection id such as 'metrika_default'; got {value!r}"
        )
    return value


def check_path(name: str, value: Any, what: str, *, optional: bool = True) -> None:
    """Refuse a path argument that is not non-empty text or a path object.

    :param name: the argument.
    :param value: its value.
    :param what: what it must be, for the message.
    :param optional: None is accepted.
    """
    if (value is None and optional) or isinstance(value, os.PathLike):
        return  # a Path or an ObjectStoragePath (not turned into text: a remote one may refuse)
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise MetrikaInvalidArgumentError(f"{name} must be {what}; got {str(value)[:100]!r}")


def check_hook_settings(
    *, timeout: Any, connect_timeout: Any, read_timeout: Any, lost_answer_wait: Any
) -> None:
    """
    Refuse the hook's timeouts when they are not positive, finite seconds (``requests`` fails late).

    :param timeout: the upload timeout, or None for the connection's.
    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for an answer.
    :param lost_answer_wait: seconds to look for an upload whose answer was lost, or None.
    """
    check_seconds("timeout", timeout, high=MAX_HTTP_SECONDS, optional=True)
    check_seconds("connect_timeout", connect_timeout, high=MAX_HTTP_SECONDS)
    check_seconds("read_timeout", read_timeout, high=MAX_HTTP_SECONDS)
    check_seconds("lost_answer_wait", lost_answer_wait, high=MAX_HTTP_SECONDS, optional=True, zero=True)


def check_upload_arguments(filename: Any, expected_rows: Any) -> None:
    """
    Refuse a multipart file name that is a path or could break the part's header, and bad row counts.

    :param filename: the name sent for the file, or None for the file's own.
    :param expected_rows: the file's data rows, or None.
    """
    if filename is not None and not (
        isinstance(filename, str)
        and 0 < len(filename) <= MAX_FILENAME_CHARS
        and filename.isprintable()
        and not any(char in filename for char in '/\\"')
        and filename not in (".", "..")
    ):
        raise MetrikaInvalidArgumentError(
            f"filename must be a plain file name (at most {MAX_FILENAME_CHARS} printable characters, no "
            f"/, \\ or quotes), e.g. orders.csv; got {str(filename)[:100]!r}"
        )
    if expected_rows is not None:
        read_number("expected_rows", expected_rows, low=0, high=None, integer=True, unit=" of rows")


def parse_literal(text: str, parameter: str) -> Any:
    """
    Read a list or mapping given as text: JSON, or the Python repr a template renders without native objects.

    :param text: the rendered value.
    :param parameter: the argument's name, for the message.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise MetrikaInvalidArgumentError(
            f"{parameter} cannot be read as JSON or a Python literal: {text[:100]!r}"
        ) from None
