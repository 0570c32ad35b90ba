"""The public entry points: turn conversions or calls from any supported input into upload-ready parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from airflow_provider_metrika.constants import DECIMALS, MIN_PART_BYTES
from airflow_provider_metrika.offline_conversions.columns import (
    CALLS_FILE,
    CONVERSIONS_FILE,
    DEFAULT_BATCH_ROWS,
    PART_GLOB,
    FileKind,
)
from airflow_provider_metrika.offline_conversions.datetimes import TimeRules
from airflow_provider_metrika.offline_conversions.errors import ConversionsInputError, EmptyConversionsError
from airflow_provider_metrika.offline_conversions.pipeline import ConversionsPipeline, RunSettings
from airflow_provider_metrika.offline_conversions.report import PreparedConversions
from airflow_provider_metrika.offline_conversions.schema import check_renames, plan_columns
from airflow_provider_metrika.simple_orders.columns import MAX_FILE_BYTES
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.money import DECIMAL_EITHER
from airflow_provider_metrika.simple_orders.options import check_timezone
from airflow_provider_metrika.simple_orders.readers import OrdersData, OrdersSource, open_source

_EMPTY_CSV = "the CSV input is empty"


def _check_arguments(kind: FileKind, arguments: dict[str, Any]) -> None:
    """Raise ValueError naming the first bad argument."""
    client_id_type = arguments["client_id_type"]
    if client_id_type is not None and client_id_type not in kind.client_id_types:
        allowed = ", ".join(repr(name) for name in kind.client_id_types)
        raise ValueError(
            f"client_id_type must be one of {allowed} or None (inferred), got {client_id_type!r}"
        )
    if arguments["decimal"] is not None and arguments["decimal"] not in DECIMALS:
        raise ValueError(
            f"decimal must be '.', ',' or None (pick from the input), got {arguments['decimal']!r}"
        )
    size = arguments["max_part_bytes"]
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_PART_BYTES <= size <= MAX_FILE_BYTES:
        raise ValueError(
            f"max_part_bytes must be an int from {MIN_PART_BYTES} to {MAX_FILE_BYTES} "
            f"(Metrika accepts at most 1 GB per file), got {size!r}"
        )
    now = arguments["now"]
    if now is not None and (not isinstance(now, dt.datetime) or now.utcoffset() is None):
        raise ValueError(f"now must be a timezone-aware datetime or None (the current time), got {now!r}")
    progress = arguments["progress"]
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable taking the number of rows read, got {progress!r}")


def _workdir(workdir: object) -> Path:
    if not isinstance(workdir, str | Path) or not str(workdir):
        raise ValueError(f"workdir must be a directory path, got {workdir!r}")
    directory = Path(workdir)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"workdir {str(directory)!r} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    leftovers = sorted(path.name for path in directory.glob(PART_GLOB))
    if leftovers:
        raise ValueError(
            f"workdir {str(directory)!r} already holds {', '.join(leftovers)} from an earlier run; "
            "pass an empty directory so that old parts cannot be mistaken for new ones"
        )
    return directory


def _open(data: object) -> OrdersSource:
    try:
        return open_source(data, DEFAULT_BATCH_ROWS)
    except OrdersInputError as exc:
        if str(exc).startswith(_EMPTY_CSV):
            raise EmptyConversionsError(
                "the CSV input is empty: it must start with a header line naming the columns "
                "(e.g. ClientId,Target,DateTime)"
            ) from None
        raise ConversionsInputError(str(exc)) from None


def _prepare(kind: FileKind, data: object, workdir: object, arguments: dict[str, Any]) -> PreparedConversions:
    _check_arguments(kind, arguments)
    naive_zone = check_timezone(arguments["source_timezone"] or arguments["timezone"])
    check_timezone(arguments["timezone"])
    renames = check_renames(arguments["columns"], kind)
    now = arguments["now"] or dt.datetime.now(dt.UTC)
    directory = _workdir(workdir)
    source = _open(data)
    try:
        if not source.names:
            raise EmptyConversionsError("the input has no columns and no rows: nothing to upload")
        plan = plan_columns(source.names, kind, renames, arguments["client_id_type"])
        decimal = arguments["decimal"] or (DECIMAL_EITHER if source.delimiter == ";" else ".")
        rules = TimeRules(naive_zone, now.timestamp())
        settings = RunSettings(kind, plan, rules, decimal, arguments["max_part_bytes"], arguments["progress"])
        return _run(ConversionsPipeline(settings, directory, source.from_csv), source)
    finally:
        source.close()


def _run(pipeline: ConversionsPipeline, source: OrdersSource) -> PreparedConversions:
    """Run the pipeline; on any failure delete every part written."""
    try:
        result = pipeline.run(source.batches)
    except OrdersInputError as exc:
        pipeline.discard()
        raise ConversionsInputError(str(exc)) from None
    except BaseException:
        pipeline.discard()
        raise
    if result.report.rows_read == 0:
        pipeline.discard()
        raise EmptyConversionsError(
            f"the input has columns ({', '.join(result.report.columns)}) but no rows: Metrika refuses a file "
            "without data rows, so there is nothing to upload"
        )
    return result


def prepare_offline_conversions(
    data: OrdersData,
    workdir: Path,
    *,
    timezone: str,
    source_timezone: str | None = None,
    client_id_type: str | None = None,
    columns: Mapping[str, str] | None = None,
    decimal: str | None = None,
    max_part_bytes: int = MAX_FILE_BYTES,
    now: dt.datetime | None = None,
    progress: Callable[[int], object] | None = None,
) -> PreparedConversions:
    """Check offline conversions and write them as Metrika's CSV parts, refusing any invalid row.

    Rows stream batch by batch. Every row is checked before it is written; if any is refused, the run
    raises :class:`InvalidConversionsError` and leaves no part behind (Metrika would drop such a row
    without an error).

    :param data: a pandas DataFrame, a pyarrow Table or RecordBatch, an iterable of those (SQL
        batches), a path to a CSV file or a binary stream of one (comma or semicolon, UTF-8).
    :param workdir: where ``part-00001.csv``, ... are written; created if missing, must hold no parts.
    :param timezone: the counter's IANA time zone: naive times are read in it.
    :param source_timezone: the IANA zone of naive times, when not the counter's.
    :param client_id_type: ``CLIENT_ID``, ``USER_ID``, ``YCLID`` or ``PURCHASE_ID``: the identifier
        sent; None infers it when the input has exactly one identifier column.
    :param columns: renames, input column -> Metrika column (any case).
    :param decimal: the decimal separator of ``Price`` text: ``"."`` or ``","``; None: ``"."``, or
        either in a semicolon-delimited CSV file (as the orders core reads amounts).
    :param max_part_bytes: the largest part, header included (Metrika takes at most 1 GB).
    :param now: the moment of preparation (aware): later times are refused, times more than 21 days
        before it are counted as too old to link; default: the current time.
    :param progress: called with the number of rows read after each batch.
    """
    arguments = dict(locals())
    return _prepare(CONVERSIONS_FILE, arguments.pop("data"), arguments.pop("workdir"), arguments)


def prepare_calls(
    data: OrdersData,
    workdir: Path,
    *,
    timezone: str,
    source_timezone: str | None = None,
    client_id_type: str | None = None,
    columns: Mapping[str, str] | None = None,
    decimal: str | None = None,
    max_part_bytes: int = MAX_FILE_BYTES,
    now: dt.datetime | None = None,
    progress: Callable[[int], object] | None = None,
) -> PreparedConversions:
    """Check calls from call tracking and write them as Metrika's CSV parts, refusing any invalid row.

    The same rules as :func:`prepare_offline_conversions`, for the calls file: no ``Target`` (calls go
    to the counter's calls goal), no ``PurchaseId``, and the optional call columns (``StaticCall``,
    ``PhoneNumber``, ``TalkDuration``, ``HoldDuration``, ``CallMissed``, ``Tag``, ``FirstTimeCaller``,
    ``URL``, ``CallTrackerURL``).

    :param data: see :func:`prepare_offline_conversions` for every parameter;
        ``client_id_type`` is ``CLIENT_ID``, ``USER_ID`` or ``YCLID``.
    """
    arguments = dict(locals())
    return _prepare(CALLS_FILE, arguments.pop("data"), arguments.pop("workdir"), arguments)
