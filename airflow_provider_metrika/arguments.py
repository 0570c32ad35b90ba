"""Checks of public arguments, one per kind of option, shared by the hook, the operators and the core."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

_MAX_COUNTER_ID = 2**31 - 1


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
    from airflow_provider_metrika.uploading_status import parse_literal

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


def check_number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None,
    open_low: bool = False,
    integer: bool = False,
) -> None:
    """
    Refuse a number outside its range, or a value that is not a number.

    :param name: the argument's name, for the message.
    :param value: the value given.
    :param low: the lower bound.
    :param high: the upper bound, or None.
    :param open_low: the lower bound itself is refused.
    :param integer: only integers are accepted.
    """
    kinds = (int,) if integer else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok:
        ok = (value > low if open_low else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"greater than {low:g}" if open_low else f"at least {low:g}"
        if high is not None:
            bound += f" and at most {high:g}"
        kind = "an integer" if integer else "a number"
        raise MetrikaInvalidArgumentError(f"{name} must be {kind} {bound}; got {value!r}")
