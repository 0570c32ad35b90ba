"""The public entry points: turn ad expenses from any supported input into upload-ready parts."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from airflow_provider_metrika.constants import DECIMALS, MIN_PART_BYTES
from airflow_provider_metrika.expenses.columns import (
    DATE,
    DEFAULT_BATCH_ROWS,
    DELETE_NAME,
    MAX_FILE_BYTES,
    MAX_RANGE_DAYS,
    PART_GLOB,
)
from airflow_provider_metrika.expenses.dates import parse_date
from airflow_provider_metrika.expenses.errors import EmptyExpensesError, ExpensesInputError
from airflow_provider_metrika.expenses.pipeline import ExpensesPipeline, RunSettings
from airflow_provider_metrika.expenses.report import ExpensesPart, PreparedExpenses
from airflow_provider_metrika.expenses.schema import check_renames, plan_columns
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.money import DECIMAL_EITHER
from airflow_provider_metrika.simple_orders.readers import OrdersData, OrdersSource, open_source

_EMPTY_CSV = "the CSV input is empty"


def _day(value: object, name: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise ValueError(f"{name} must be a date or a YYYY-MM-DD text, got {value!r}")
    parsed = parse_date(value)
    if not isinstance(parsed, tuple) or parsed[2] != 1:
        raise ValueError(f"{name} must be a date or a YYYY-MM-DD text, got {value!r}")
    return dt.date.fromordinal(parsed[1])


def check_date_range(date_range: object) -> tuple[int, int] | None:
    """Return ``date_range=`` as first and last day ordinals; raise ValueError naming the problem.

    :param date_range: ``(first, last)`` dates or ``YYYY-MM-DD`` texts, both included, or None.
    """
    if date_range is None:
        return None
    if not isinstance(date_range, tuple | list) or len(date_range) != 2:
        raise ValueError(f"date_range must be a (first, last) pair of days, got {date_range!r}")
    first, last = _day(date_range[0], "date_range's first day"), _day(date_range[1], "date_range's last day")
    if last < first:
        raise ValueError(f"date_range ends before it starts: {first} > {last}")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"date_range covers more than {MAX_RANGE_DAYS} days: check the years")
    return first.toordinal(), last.toordinal()


def _check_arguments(arguments: dict[str, Any]) -> None:
    """Raise ValueError naming the first bad argument."""
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
    leftovers = sorted(path.name for path in [*directory.glob(PART_GLOB), *directory.glob(DELETE_NAME)])
    if leftovers:
        raise ValueError(
            f"workdir {str(directory)!r} already holds {', '.join(leftovers)} from an earlier run; "
            "pass an empty directory so that old files cannot be mistaken for new ones"
        )
    return directory


def _open(data: object) -> OrdersSource:
    try:
        return open_source(data, DEFAULT_BATCH_ROWS)
    except OrdersInputError as exc:
        if str(exc).startswith(_EMPTY_CSV):
            raise EmptyExpensesError(
                "the CSV input is empty: it must start with a header line naming the columns "
                "(e.g. Date,UTMSource,Expenses)"
            ) from None
        raise ExpensesInputError(str(exc)) from None


def delete_file(days: Iterable[str | dt.date], workdir: Path) -> ExpensesPart:
    """Write the CSV for Metrika's expense delete call: a ``Date`` column, one row per day.

    :param days: the days to clear (dates or ``YYYY-MM-DD``), at least one; written sorted, once each.
    :param workdir: where ``delete.csv`` is written (replacing an earlier one).
    """
    if isinstance(days, str | bytes) or not isinstance(days, Iterable):
        raise ValueError(f"days must be an iterable of dates or YYYY-MM-DD texts, got {days!r}")
    unique = sorted({_day(day, "each day").isoformat() for day in days})
    if not unique:
        raise ValueError("days is empty: a delete file needs at least one day")
    path = Path(workdir) / DELETE_NAME
    data = "\n".join([DATE, *unique, ""]).encode("ascii")
    path.write_bytes(data)
    return ExpensesPart(path=path, sha256=hashlib.sha256(data).hexdigest(), rows=len(unique), bytes=len(data))


def _run(pipeline: ExpensesPipeline, source: OrdersSource, directory: Path) -> PreparedExpenses:
    """Run the pipeline; on any failure delete every part written."""
    try:
        parts, report = pipeline.run(source.batches)
    except OrdersInputError as exc:
        pipeline.discard()
        raise ExpensesInputError(str(exc)) from None
    except BaseException:
        pipeline.discard()
        raise
    if report.rows_read == 0:
        pipeline.discard()
        raise EmptyExpensesError(
            f"the input has columns ({', '.join(report.columns)}) but no rows: nothing to upload; to clear "
            "days without spend, delete them with delete_file() and the hook's post_expenses_delete"
        )
    return PreparedExpenses(parts, report, delete_file(report.dates, directory))


def prepare_expenses(
    data: OrdersData,
    workdir: Path,
    *,
    columns: Mapping[str, str] | None = None,
    decimal: str | None = None,
    max_part_bytes: int = MAX_FILE_BYTES,
    date_range: tuple[str | dt.date, str | dt.date] | None = None,
    progress: Callable[[int], object] | None = None,
) -> PreparedExpenses:
    """Check ad expenses and write them as Metrika's CSV parts, with the file that clears their days first.

    Rows stream batch by batch. Every row is checked before it is written; if any is refused, the run
    raises :class:`InvalidExpensesError` and leaves no file behind. UTM values are sent exactly as given.

    :param data: a pandas DataFrame, a pyarrow Table or RecordBatch, an iterable of those (SQL
        batches), a path to a CSV file or a binary stream of one (comma or semicolon, UTF-8).
    :param workdir: where ``part-00001.csv``, ... and ``delete.csv`` are written; created if missing,
        must hold none of them.
    :param columns: renames, input column -> Metrika column (any case).
    :param decimal: the decimal separator of ``Expenses`` text: ``"."`` or ``","``; None: ``"."``, or
        either in a semicolon-delimited CSV file (as the orders core reads amounts).
    :param max_part_bytes: the largest part, header included (Metrika takes at most 1 GB).
    :param date_range: ``(first, last)`` days, both included: the days this provider's expenses are
        replaced on, so a day without spend is cleared too; every row must fall inside. None: the days
        the input covers.
    :param progress: called with the number of rows read after each batch.
    """
    _check_arguments(locals())
    bounds = check_date_range(date_range)
    renames = check_renames(columns)
    directory = _workdir(workdir)
    source = _open(data)
    try:
        if not source.names:
            raise EmptyExpensesError("the input has no columns and no rows: nothing to upload")
        sources = plan_columns(source.names, renames)
        chosen = decimal or (DECIMAL_EITHER if source.delimiter == ";" else ".")
        settings = RunSettings(sources, chosen, max_part_bytes, bounds, progress)
        return _run(ExpensesPipeline(settings, directory, source.from_csv), source, directory)
    finally:
        source.close()
