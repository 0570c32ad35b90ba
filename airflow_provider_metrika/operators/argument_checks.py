"""Checks of the upload operator's plain arguments, run once when the DAG is parsed.

Flags must be real booleans (the text ``"no"`` is truthy and would silently switch a flag on), paths
and connection ids non-empty text, and waits finite and bounded. Template strings (``{{ ... }}``) are
left to be rendered.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from airflow_provider_metrika.constants import MAX_WAIT_SECONDS
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

#: Values that cannot be orders: a ``dataframe=`` of one of these is a mistake for ``path=`` or ``sql=``.
_NOT_ORDERS = (str, bytes, bytearray, int, float, bool, Mapping)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def check_flags(flags: Mapping[str, Any]) -> None:
    """Refuse flags that are not ``True`` or ``False``.

    :param flags: argument name -> value.
    """
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise MetrikaInvalidArgumentError(
                f"{name} must be True or False; got {value!r} (text such as 'no' would count as True)"
            )


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


def check_wait(name: str, value: Any) -> None:
    """Refuse a wait that is not a finite number of seconds up to :data:`MAX_WAIT_SECONDS`.

    :param name: the argument.
    :param value: seconds.
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= MAX_WAIT_SECONDS:
        raise MetrikaInvalidArgumentError(
            f"{name} must be a number of seconds greater than 0 and at most {MAX_WAIT_SECONDS:,} "
            f"(30 days); got {value!r}"
        )


def check_operator_arguments(
    *,
    metrika_conn_id: Any,
    path: Any,
    rejects_path: Any,
    sync_state: Any,
    sql_parameters: Any,
    dataframe: Any,
    flags: Mapping[str, Any],
    poll_interval: Any,
    timeout: Any,
) -> None:
    """Check the upload operator's arguments not covered by a core option checker.

    :param metrika_conn_id: the connection id.
    :param path: the CSV file (templated).
    :param rejects_path: where rejected rows are kept (templated).
    :param sync_state: where the sync state is kept (templated).
    :param sql_parameters: the query's parameters (templated).
    :param dataframe: the in-memory orders, or an upstream task's output.
    :param flags: boolean arguments, name -> value.
    :param poll_interval: seconds between validation polls.
    :param timeout: seconds to wait for validation.
    """
    if not isinstance(metrika_conn_id, str) or not metrika_conn_id.strip():
        raise MetrikaInvalidArgumentError(
            f"metrika_conn_id must be a connection id such as 'metrika_default'; got {metrika_conn_id!r}"
        )
    check_path("path", path, "a file path, or a template rendering one")
    check_path("rejects_path", rejects_path, "a path or URI (e.g. s3://bucket/rejects/)")
    check_path("sync_state", sync_state, "a path or URI (e.g. s3://bucket/metrika-state/)")
    if sql_parameters is not None and not (
        _is_template(sql_parameters) or isinstance(sql_parameters, Mapping | list | tuple)
    ):
        raise MetrikaInvalidArgumentError(
            f"sql_parameters must be a mapping or a list of query parameters; got {sql_parameters!r}"
        )
    if isinstance(dataframe, _NOT_ORDERS):
        raise MetrikaInvalidArgumentError(
            f"dataframe must be a pandas DataFrame, a pyarrow Table or an upstream task's output; got "
            f"{type(dataframe).__name__} (for a CSV file pass path=, for a query sql=)"
        )
    check_flags(flags)
    check_wait("poll_interval", poll_interval)
    check_wait("timeout", timeout)
