"""The upload operators' shared arguments, checked when the DAG is parsed: each alone, then together.

The kinds of value (seconds, flags, paths, time zones...) are checked by
:mod:`airflow_provider_metrika.arguments`; template strings (``{{ ... }}``) are left to be checked once
rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_metrika.arguments import (
    check_conn_id,
    check_counter_id,
    check_flags,
    check_path,
    check_seconds,
    is_template,
    read_flag,
    read_number,
)
from airflow_provider_metrika.constants import (
    MAX_UPLOAD_BYTES,
    MIN_PART_BYTES,
)
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.sync.changed_only import check_sync_arguments

#: Values that cannot be orders: a ``dataframe=`` of one of these is a mistake for ``path=`` or ``sql=``.
_NOT_ORDERS = (str, bytes, bytearray, int, float, bool, Mapping)
_FLAGS = ("wait_for_validation", "deferrable", "changed_only")


def _check_inputs(task_id: str, arguments: Mapping[str, Any]) -> None:
    given = [name for name in ("dataframe", "path", "sql") if arguments[name] is not None]
    if len(given) != 1:
        raise MetrikaInvalidArgumentError(
            f"{task_id}: pass exactly one input among dataframe=, path= and sql=; got "
            f"{', '.join(given) if given else 'none'}"
        )
    sql, sql_conn_id = arguments["sql"], arguments["sql_conn_id"]
    if sql is not None and not sql_conn_id:
        raise MetrikaInvalidArgumentError(f"{task_id}: sql= needs sql_conn_id= (a database connection)")
    if sql_conn_id and sql is None:
        raise MetrikaInvalidArgumentError(f"{task_id}: sql_conn_id= is given without sql=")
    check_path("path", arguments["path"], "a file path, or a template rendering one")
    parameters = arguments["sql_parameters"]
    if parameters is not None and not (
        is_template(parameters) or isinstance(parameters, Mapping | list | tuple)
    ):
        raise MetrikaInvalidArgumentError(
            f"sql_parameters must be a mapping or a list of query parameters; got {parameters!r}"
        )
    read_number("sql_batch_rows", arguments["sql_batch_rows"], low=1, high=None, integer=True)
    if isinstance(arguments["dataframe"], _NOT_ORDERS):
        raise MetrikaInvalidArgumentError(
            f"dataframe must be a pandas DataFrame, a pyarrow Table or an upstream task's output; got "
            f"{type(arguments['dataframe']).__name__} (for a CSV file pass path=, for a query sql=)"
        )


def check_shared_arguments(task_id: str, arguments: Mapping[str, Any]) -> None:
    """Refuse the arguments every upload kind shares that are wrong alone or together.

    :param task_id: the task, for messages.
    :param arguments: the base operator's named arguments, name -> value.
    """
    _check_inputs(task_id, arguments)
    counter_id = arguments["counter_id"]
    if counter_id is not None and not is_template(counter_id):
        check_counter_id(counter_id)
    check_conn_id("metrika_conn_id", arguments["metrika_conn_id"])
    read_number(
        "max_part_bytes", arguments["max_part_bytes"], low=MIN_PART_BYTES, high=MAX_UPLOAD_BYTES, integer=True
    )
    check_path("sync_state", arguments["sync_state"], "a path or URI (e.g. s3://bucket/metrika-state/)")
    archive_path = arguments["archive_path"]
    if archive_path is not None and (not isinstance(archive_path, str) or not archive_path.strip()):
        raise MetrikaInvalidArgumentError(
            f"{task_id}: archive_path must be a directory or bucket prefix such as "
            f"s3://bucket/metrika-archive/; got {archive_path!r}"
        )
    if not is_template(arguments["force_resend"]):
        read_flag("force_resend", arguments["force_resend"])
    check_sync_arguments(
        task_id, arguments["changed_only"], arguments["sync_state"], arguments["full_refresh"]
    )
    check_flags({name: arguments[name] for name in _FLAGS})
    check_seconds("poll_interval", arguments["poll_interval"])
    check_seconds("timeout", arguments["timeout"])
