"""The upload operators' inputs, streamed: a DataFrame, a file in object storage, or a SQL query."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import BaseHook, XComArg
from airflow_provider_metrika.exceptions import MetrikaError, MetrikaInvalidArgumentError
from airflow_provider_metrika.extras import import_extra
from airflow_provider_metrika.storage import copy_to_storage, storage_path

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import Context


@contextmanager
def task_input(
    context: Context,
    *,
    dataframe: Any,
    path: str | None,
    sql: str | None,
    sql_conn_id: str | None,
    sql_parameters: Any,
    sql_batch_rows: int,
    noun: str,
    log: Any,
) -> Iterator[Any]:
    """
    Yield the one input an upload task was given, as its kind's core reads it, streamed.

    :param context: the task's context (an upstream task's XCom is resolved in it).
    :param dataframe: a DataFrame, or an ``XComArg`` of one.
    :param path: a local path or an object-storage URI, opened as a binary stream.
    :param sql: a query, fetched in batches on ``sql_conn_id``.
    :param sql_conn_id: the query's connection.
    :param sql_parameters: the query's parameters.
    :param sql_batch_rows: rows per batch.
    :param noun: what the rows are, for the log (``orders``).
    :param log: the task's log.
    """
    if isinstance(dataframe, XComArg):
        yield dataframe.resolve(context)
    elif dataframe is not None:
        yield dataframe
    elif path is not None:
        source = storage_path(path)
        log.info("Reading %s from %s", noun, source)
        with source.open("rb") as stream:
            yield stream
    else:
        assert sql is not None
        assert sql_conn_id is not None
        log.info("Reading %s from %s with a query, %s rows per batch", noun, sql_conn_id, sql_batch_rows)
        yield sql_batches(sql_conn_id, sql, sql_parameters, sql_batch_rows)


def keep_rejects(
    task_id: str, rejects_path: str | None, rejects: Path | str | None, count: int, log: Any
) -> str | None:
    """
    Copy the rejected rows to ``rejects_path`` (creating its folders); return where, or None.

    :param task_id: the task, for messages.
    :param rejects_path: the rendered ``rejects_path``, or None.
    :param rejects: the core's file of rejected rows.
    :param count: how many rows it holds.
    :param log: the task's log.
    """
    if rejects is None or not count or not Path(rejects).exists():
        return None
    if not rejects_path:
        log.warning(
            "%s rejected rows are summarised above; set rejects_path= to keep them with their reasons",
            f"{count:,}",
        )
        return None
    target = storage_path(rejects_path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_to_storage(Path(rejects), target)
    except (OSError, ValueError) as exc:
        raise MetrikaError(
            f"{task_id}: could not keep the {count:,} rejected rows at rejects_path {str(target)!r} "
            f"({type(exc).__name__}: {exc}); nothing was sent. Check that the location is writable."
        ) from None
    log.info("%s rejected rows, with their reasons, written to %s", f"{count:,}", target)
    return str(target)


def sql_batches(
    sql_conn_id: str,
    sql: str,
    parameters: Mapping[str, Any] | Sequence[Any] | None,
    batch_rows: int,
) -> Iterator[pa.Table]:
    """
    Run a query through the connection's DbApiHook and yield its rows in batches.

    Rows are fetched ``batch_rows`` at a time with ``cursor.fetchmany``, never all at once. For
    PostgreSQL a named (server-side) cursor is used, since its default cursor downloads the whole
    result on ``execute``.

    :param sql_conn_id: an Airflow connection whose hook is a common.sql ``DbApiHook``.
    :param sql: the query.
    :param parameters: query parameters, in the driver's style.
    :param batch_rows: rows per batch.
    """
    # Imported when a task runs, not when a DAG file is parsed (see bench/import_time.py).
    import pyarrow as pa

    DbApiHook = import_extra("airflow.providers.common.sql.hooks.sql", "common.sql", "sql=").DbApiHook
    hook = BaseHook.get_hook(sql_conn_id)
    if not isinstance(hook, DbApiHook):
        raise MetrikaInvalidArgumentError(
            f"sql_conn_id {sql_conn_id!r} is a {type(hook).__name__}, not a SQL (common.sql DbApiHook) "
            "connection: use a database connection such as postgres, sqlite, snowflake or clickhouse"
        )
    with closing(hook.get_conn()) as conn:
        server_side = getattr(hook, "conn_type", "") == "postgres"
        cursor = conn.cursor(name=f"metrika_{uuid.uuid4().hex}") if server_side else conn.cursor()
        try:
            if parameters:
                cursor.execute(sql, parameters)
            else:
                cursor.execute(sql)
            if cursor.description is None:
                raise MetrikaInvalidArgumentError("sql returned no result set: it must be a SELECT query")
            names = [column[0] for column in cursor.description]
            while rows := cursor.fetchmany(batch_rows):
                columns = list(zip(*rows, strict=True))
                yield pa.table(
                    {name: _arrow_column(values) for name, values in zip(names, columns, strict=True)}
                )
        finally:
            cursor.close()


def _arrow_column(values: Sequence[Any]) -> pa.Array:
    """Type a fetched column; a column of mixed types (SQLite allows it) is kept as text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
