"""The public entry point: turn orders from any supported input into upload-ready CSV parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

from airflow_provider_metrika.simple_orders.columns import (
    DEFAULT_BATCH_ROWS,
    MAX_FILE_BYTES,
    PART_GLOB,
    REJECTS_NAME,
    SENT_NAME,
)
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.money import DECIMAL_EITHER
from airflow_provider_metrika.simple_orders.options import PrepareOptions, build_options
from airflow_provider_metrika.simple_orders.pipeline import OrdersPipeline
from airflow_provider_metrika.simple_orders.readers import OrdersData, OrdersSource, open_source
from airflow_provider_metrika.simple_orders.report import InvalidOrdersError, OrdersReport, PreparedOrders
from airflow_provider_metrika.simple_orders.schema import plan_columns
from airflow_provider_metrika.simple_orders.sync_state import SyncState


def _output_directory(output_dir: object) -> Path:
    if not isinstance(output_dir, str | Path) or not str(output_dir):
        raise ValueError(f"output_dir must be a directory path, got {output_dir!r}")
    directory = Path(output_dir)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"output_dir {str(directory)!r} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    earlier = [*directory.glob(PART_GLOB), directory / REJECTS_NAME, directory / SENT_NAME]
    leftovers = sorted(path.name for path in earlier if path.exists())
    if leftovers:
        raise ValueError(
            f"output_dir {str(directory)!r} already holds {', '.join(leftovers)} from an earlier run; "
            "pass an empty directory so that old parts cannot be mistaken for new ones"
        )
    return directory


def prepare_simple_orders(
    data: OrdersData,
    output_dir: str | Path,
    *,
    timezone: str,
    source_timezone: str | None = None,
    columns: Mapping[str, str] | None = None,
    status_map: Mapping[str, str] | None = None,
    hash_identifiers: bool = False,
    on_invalid: str = "fail",
    max_invalid_fraction: float = 0.0,
    duplicates: str = "error",
    unknown_columns: str = "error",
    rewrite_leading_8: bool = False,
    delimiter: str = "COMMA",
    max_part_bytes: int = MAX_FILE_BYTES,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Callable[[int], object] | None = None,
    decimal: str | None = None,
    now: dt.datetime | None = None,
    sync_state: SyncState | None = None,
) -> PreparedOrders:
    """Validate and normalise orders and write them as Metrika simplified-orders CSV parts.

    Rows are streamed in batches, so memory does not grow with the input. Nothing is dropped silently:
    ``rows_read == rows_written + rows_rejected + duplicates_dropped`` (``+ orders_unchanged`` with a
    ``sync_state``).

    :param data: a pandas DataFrame, a pyarrow Table or RecordBatch, an iterable of RecordBatches and/or
        DataFrames, a path to a CSV file (comma or semicolon, UTF-8 with or without BOM) or a binary file-like
        object holding such CSV.
    :param output_dir: directory for ``part-00001.csv``, ... and ``rejects.csv``; created if missing, must not
        hold parts of an earlier run.
    :param timezone: the counter's IANA time zone, in which Metrika reads ``create_date_time``: every
        value is written in it. Values with a UTC offset and aware timestamps are converted to it.
    :param source_timezone: the IANA zone of naive input values with a time (default: ``timezone``);
        they are converted to ``timezone``. A time skipped by a DST change is moved forward to the end
        of the gap; a time that occurs twice is the first occurrence. Dates without a time never shift.
    :param columns: renames, input column -> Metrika column.
    :param status_map: CRM status -> Metrika status or goal id; keys match exactly, then case-insensitively.
    :param hash_identifiers: write ``emails_md5``/``phones_md5`` instead of raw emails and phones.
    :param on_invalid: ``"fail"``: raise :class:`InvalidOrdersError` and write nothing if any row is invalid;
        ``"skip"``: write valid rows, rejected ones go to ``rejects.csv``.
    :param max_invalid_fraction: with ``"skip"``, the largest share of rejected rows accepted before raising.
    :param duplicates: ``"error"``: raise when an id repeats; ``"keep_last"``: keep each id's last row.
    :param unknown_columns: ``"error"``: raise on columns Metrika does not document; ``"drop"``: omit them.
    :param rewrite_leading_8: rewrite 11-digit phones starting with 8 to start with 7 (Russian numbers;
        not 8 0, 8 1 or 8 2, which no Russian or Kazakh number starts with).
    :param delimiter: ``"COMMA"`` or ``"SEMICOLON"``, the parts' delimiter (pass the same ``delimiter_type``).
    :param max_part_bytes: largest part, header included; Metrika accepts at most 1 GB per file.
    :param batch_rows: rows per batch for in-memory inputs (CSV is read in blocks of bytes).
    :param progress: called with the number of rows read after each batch.
    :param decimal: the decimal separator of ``revenue`` and ``cost`` text, pandas' name for it: ``"."``
        or ``","`` (``4590,50``, ``1 299,99``: spaces, no-break spaces and apostrophes may group thousands;
        dots are then refused). None (default): ``"."``, except in a semicolon-delimited CSV file, which
        accepts both ``4590,50`` and ``4590.50``: spreadsheets write semicolons where the decimal
        separator is a comma, and there ``4590,50`` can mean nothing else.
    :param now: the moment of preparation (aware), for the check that refuses a ``create_date_time``
        more than one day in the future in ``timezone``, and for the warning on orders older than
        Metrika's 21-day linking window; default: the current time.
    :param sync_state: what the destination already holds (see
        :mod:`~airflow_provider_metrika.simple_orders.sync_state`): only rows that are new or differ
        from it are written; the others are counted as ``orders_unchanged``. The keys and
        fingerprints written go to ``sent-orders.arrow`` in ``output_dir``, for
        :meth:`SyncState.apply` once Metrika accepted the parts.
    """
    options = build_options(
        timezone=timezone,
        columns=columns,
        status_map=status_map,
        hash_identifiers=hash_identifiers,
        on_invalid=on_invalid,
        max_invalid_fraction=max_invalid_fraction,
        duplicates=duplicates,
        unknown_columns=unknown_columns,
        rewrite_leading_8=rewrite_leading_8,
        delimiter=delimiter,
        max_part_bytes=max_part_bytes,
        batch_rows=batch_rows,
        progress=progress,
        source_timezone=source_timezone,
        decimal=decimal,
        now=now,
    )
    source = open_source(data, options.batch_rows)
    try:
        return _run(source, options, _output_directory(output_dir), sync_state)
    finally:
        source.close()


def _run(
    source: OrdersSource, options: PrepareOptions, directory: Path, state: SyncState | None
) -> PreparedOrders:
    """Plan the columns and run the pipeline; delete partial output if anything fails."""
    if not source.names:  # an empty iterable or a DataFrame without columns: nothing to check or write
        first = next(source.batches, None)
        if first is not None and first.num_rows:
            raise OrdersInputError("the input has rows but no columns")
        return PreparedOrders(
            [], OrdersReport(timezone=options.timezone, source_timezone=options.naive_timezone)
        )
    if options.decimal is None:
        options = dataclasses.replace(options, decimal=DECIMAL_EITHER if source.delimiter == ";" else ".")
    if options.now is None:
        options = dataclasses.replace(options, now=dt.datetime.now(dt.UTC))
    plan = plan_columns(source.names, options)
    pipeline = OrdersPipeline(options, plan, source.names, directory, source.from_csv, state)
    try:
        return pipeline.run(source.batches)
    except BaseException as error:
        pipeline.discard()
        if not isinstance(error, InvalidOrdersError) and pipeline.rejects is not None:
            pipeline.rejects.discard()
        raise
    finally:
        pipeline.cleanup()
