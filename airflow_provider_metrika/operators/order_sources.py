"""Where the upload operator reads orders from, streamed (object storage files and SQL queries), and
how it writes its own files (rejects, sync states) to object storage."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import BaseHook, ObjectStoragePath
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.extras import import_extra

if TYPE_CHECKING:
    import pyarrow as pa


def storage_path(path: str | ObjectStoragePath) -> ObjectStoragePath:
    """
    Return an ObjectStoragePath for a local path or a URI (``s3://``, ``gs://``, ``file://`` ...).

    A ``conn_id`` in the URI's userinfo (``s3://aws_default@bucket/key``) selects the connection.

    :param path: what the user passed as ``path``.
    """
    if isinstance(path, ObjectStoragePath):
        return path
    text = str(path).strip()
    if not text:
        raise MetrikaInvalidArgumentError(
            "path is empty: pass a local path or a URI such as s3://bucket/orders.csv"
        )
    if "://" not in text:
        text = f"file://{text}" if text.startswith("/") else text
    return ObjectStoragePath(text)


def copy_to_storage(source: Path, target: ObjectStoragePath) -> None:
    """
    Copy a local file to a path in object storage (or on local disk), 1 MiB at a time.

    :param source: the local file.
    :param target: where to write it; replaced if it exists.
    """
    with source.open("rb") as data, target.open("wb") as out:
        shutil.copyfileobj(data, out, 1 << 20)


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
