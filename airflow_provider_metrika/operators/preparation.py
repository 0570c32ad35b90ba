"""Reading a task's orders and preparing them with the orders core; keeping the rejected rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import XComArg
from airflow_provider_metrika.arguments import read_mapping
from airflow_provider_metrika.exceptions import MetrikaError
from airflow_provider_metrika.operators.order_sources import copy_to_storage, sql_batches, storage_path
from airflow_provider_metrika.progress import ProgressLog

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
    from airflow_provider_metrika.simple_orders import PreparedOrders
    from airflow_provider_metrika.simple_orders.sync_state import SyncState


def _prepare(
    task: SimpleOrdersUploadOperator, context: Context, workdir: Path, timezone: str, state: SyncState | None
) -> PreparedOrders:
    # The core (pandas, pyarrow) loads when a task runs, not when a DAG file is parsed.
    from airflow_provider_metrika.simple_orders import prepare_simple_orders

    # A line at least every few seconds, from reading the first row to the last check.
    with ProgressLog(task.log, "prepared", unit="rows") as progress, orders_input(task, context) as data:
        return prepare_simple_orders(
            data,
            workdir,
            timezone=timezone,
            source_timezone=task.source_timezone or None,
            columns=read_mapping("columns", task.columns, "input column to Metrika column"),
            status_map=read_mapping("status_map", task.status_map, "CRM status to Metrika status"),
            hash_identifiers=task.hash_identifiers,
            on_invalid=task.on_invalid,
            max_invalid_fraction=task.max_invalid_fraction,
            duplicates=task.duplicates,
            unknown_columns=task.unknown_columns,
            rewrite_leading_8=task.rewrite_leading_8,
            decimal=task.decimal,
            delimiter=task.delimiter_type,
            max_part_bytes=task.max_part_bytes,
            progress=progress,
            sync_state=state,
        )


def prepare_keeping_rejects(
    task: SimpleOrdersUploadOperator, context: Context, workdir: Path, timezone: str, state: SyncState | None
) -> PreparedOrders:
    """Prepare, and keep the rejected rows at ``rejects_path`` first, whatever happens next."""
    from airflow_provider_metrika.exceptions import MetrikaSyncStateError
    from airflow_provider_metrika.simple_orders.errors import InvalidOrdersError
    from airflow_provider_metrika.simple_orders.sync_state import SyncStateError

    try:
        prepared = _prepare(task, context, workdir, timezone, state)
    except InvalidOrdersError as exc:
        kept = keep_rejects(task, exc.report.rejects_path, exc.report.rows_rejected)
        raise exc.with_rejects_at(kept or "not kept (set rejects_path= to keep them)") from None
    except SyncStateError as error:
        raise MetrikaSyncStateError(f"{task.task_id}: {error}") from None
    kept = keep_rejects(task, prepared.report.rejects_path, prepared.report.rows_rejected)
    if kept is None:
        return prepared
    # The report, its XCom and every message name the kept file, not the worker's temporary one.
    return replace(prepared, report=replace(prepared.report, rejects_path=kept))


def keep_rejects(task: SimpleOrdersUploadOperator, rejects: Path | str | None, count: int) -> str | None:
    """Copy the rejected rows to ``rejects_path`` (creating its folders); return where, or None."""
    if rejects is None or not count or not Path(rejects).exists():
        return None
    if not task.rejects_path:
        task.log.warning(
            "%s rejected rows are summarised above; set rejects_path= to keep them with their reasons",
            f"{count:,}",
        )
        return None
    target = storage_path(task.rejects_path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_to_storage(Path(rejects), target)
    except (OSError, ValueError) as exc:
        raise MetrikaError(
            f"{task.task_id}: could not keep the {count:,} rejected rows at rejects_path {str(target)!r} "
            f"({type(exc).__name__}: {exc}); nothing was sent. Check that the location is writable."
        ) from None
    task.log.info("%s rejected rows, with their reasons, written to %s", f"{count:,}", target)
    return str(target)


@contextmanager
def orders_input(task: SimpleOrdersUploadOperator, context: Context) -> Iterator[Any]:
    if isinstance(task.dataframe, XComArg):
        yield task.dataframe.resolve(context)
    elif task.dataframe is not None:
        yield task.dataframe
    elif task.path is not None:
        source = storage_path(task.path)
        task.log.info("Reading orders from %s", source)
        with source.open("rb") as stream:
            yield stream
    else:
        assert task.sql is not None
        assert task.sql_conn_id is not None
        task.log.info(
            "Reading orders from %s with a query, %s rows per batch",
            task.sql_conn_id,
            task.sql_batch_rows,
        )
        yield sql_batches(task.sql_conn_id, task.sql, task.sql_parameters, task.sql_batch_rows)
