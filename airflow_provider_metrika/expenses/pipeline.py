"""Run batches through the column checks and into part files, adding up each day's expenses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.expenses.columns import (
    CLICKS,
    CURRENCY,
    DATE,
    EXPENSES,
    TRAFFIC_SOURCE,
    TRAFFIC_SOURCE_DETAIL,
    UTM_CAMPAIGN,
    UTM_COLUMNS,
    UTM_SOURCE,
)
from airflow_provider_metrika.expenses.dates import date_column, expand_days
from airflow_provider_metrika.expenses.errors import InvalidExpensesError
from airflow_provider_metrika.expenses.notices import DETAILS_WITHOUT_TABLE, UNKNOWN_DETAILS, WarningLog
from airflow_provider_metrika.expenses.report import ExpensesPart, ExpensesReport
from airflow_provider_metrika.expenses.values import (
    check_details,
    clicks_column,
    currency_column,
    exact_text,
    expenses_column,
    need_a_source,
    refuse_direct_utm,
    traffic_source_column,
)
from airflow_provider_metrika.simple_orders.csv_text import csv_lines, header_line, quote_cells
from airflow_provider_metrika.simple_orders.masking import MAX_SHOWN_CHARS, escape_controls, mask_value
from airflow_provider_metrika.simple_orders.parts import PartWriter
from airflow_provider_metrika.simple_orders.problems import BatchProblems, ProblemLog, cell_text
from airflow_provider_metrika.simple_orders.text import decode_utf8

REASON_UTF8 = "is not valid UTF-8 text"
REASON_OUTSIDE = "covers a day outside date_range={range}: widen date_range or leave the row out"
#: An orders column the orders core shows as it is unless a value looks like an email or a phone.
_READABLE_LIKE = "order_status"


def mask_cell(value: str, column: str) -> str:
    """Return a cell fit to show: UTM values as they are (not customer data), others as the orders core.

    :param value: the cell as text.
    :param column: the Metrika column it belongs to.
    """
    if column in UTM_COLUMNS or column in (TRAFFIC_SOURCE, TRAFFIC_SOURCE_DETAIL):
        shown = escape_controls(value)
        return shown if len(shown) <= MAX_SHOWN_CHARS else shown[: MAX_SHOWN_CHARS - 3] + "..."
    return mask_value(value, _READABLE_LIKE)


@dataclass(frozen=True)
class RunSettings:
    """What a run needs besides the input.

    :param sources: Metrika column -> input column, in the order written.
    :param decimal: how ``Expenses`` text is read.
    :param max_part_bytes: the largest part, header included.
    :param date_range: ``(first, last)`` day ordinals every row must fall in, or None.
    :param progress: called with the rows read after each batch.
    """

    sources: dict[str, str]
    decimal: str
    max_part_bytes: int
    date_range: tuple[int, int] | None = None
    progress: Callable[[int], object] | None = None


class ExpensesPipeline:
    """One preparation run over a stream of batches.

    :param settings: the run's columns and rules.
    :param directory: where parts are written.
    :param from_csv: whether batches hold raw CSV bytes.
    """

    def __init__(self, settings: RunSettings, directory: Path, from_csv: bool) -> None:
        self.settings = settings
        self.from_csv = from_csv
        self.rows_read = 0
        self.failed = False
        self.log = ProblemLog()
        self.notices = WarningLog()
        self.spend: dict[tuple[int, int], float] = {}
        self.currency: set[str] = set()
        header = header_line(list(settings.sources), ",")
        self.writer = PartWriter(directory, header, settings.max_part_bytes)

    def run(self, batches: Iterator[pa.RecordBatch]) -> tuple[list[ExpensesPart], ExpensesReport]:
        """Check and write every batch; return the parts and the report, or raise if a row was refused.

        :param batches: rows with the input's columns.
        """
        for batch in batches:
            if batch.num_rows:
                self._batch(batch, self.rows_read + 1)
                self.rows_read += batch.num_rows
                if self.settings.progress is not None:
                    self.settings.progress(self.rows_read)
        if self.failed:
            raise self._invalid_error()
        parts = [
            ExpensesPart(path=part.path, sha256=part.sha256, rows=part.rows, bytes=part.bytes)
            for part in self.writer.close()
        ]
        return parts, self.report(sum(part.rows for part in parts))

    def discard(self) -> None:
        """Delete every part written: the run failed."""
        self.writer.discard()

    def _columns(self, batch: pa.RecordBatch, problems: BatchProblems) -> dict[str, pa.Array]:
        columns = {}
        for column, source in self.settings.sources.items():
            array = batch.column(source)
            if self.from_csv:
                array, bad = decode_utf8(array)
                if bad is not None:
                    problems.add(column, REASON_UTF8, bad)
            columns[column] = array
        return columns

    def _batch(self, batch: pa.RecordBatch, first_row: int) -> None:
        count = batch.num_rows
        problems = BatchProblems(count)
        columns = self._columns(batch, problems)
        cells, start, days = self._cells(columns, problems, first_row)
        self.log.record(problems, first_row, lambda c, i: cell_text(columns[c], i), mask_cell)
        if problems.invalid().any():
            self.failed = True  # keep checking to count every problem, but write nothing more
            self.writer.discard()
        if self.failed:
            return
        self._add_spend(start, days, cells[EXPENSES])
        # A blank currency is the counter's: kept as "" so that totals are never compared across them.
        if CURRENCY in cells:
            self.currency.update(value or "" for value in pc.unique(cells[CURRENCY]).to_pylist())
        else:
            self.currency.add("")
        lines = csv_lines([quote_cells(cells[column]) for column in self.settings.sources], ",")
        rows = np.arange(first_row, first_row + count, dtype=np.int64)
        self.writer.write(lines, np.zeros(count, dtype=bool), rows)

    def _cells(
        self, columns: dict[str, pa.Array], problems: BatchProblems, first_row: int
    ) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray]:
        """Return each column as written, and each row's first day and day count."""
        cells: dict[str, pa.Array] = {}
        dates = date_column(columns[DATE], problems)
        cells[DATE] = dates.text
        self._check_range(dates.start, dates.days, problems)
        for column in UTM_COLUMNS:
            if column in columns:
                cells[column] = exact_text(columns[column], column, problems)
        if TRAFFIC_SOURCE in columns:
            cells[TRAFFIC_SOURCE] = traffic_source_column(columns[TRAFFIC_SOURCE], problems)
        if TRAFFIC_SOURCE_DETAIL in columns:
            detail = exact_text(columns[TRAFFIC_SOURCE_DETAIL], TRAFFIC_SOURCE_DETAIL, problems)
            cells[TRAFFIC_SOURCE_DETAIL] = detail
            unknown, without = check_details(cells[TRAFFIC_SOURCE], detail, problems)
            self.notices.record(UNKNOWN_DETAILS, unknown, first_row)
            self.notices.record(DETAILS_WITHOUT_TABLE, without, first_row)
        need_a_source(cells.get(UTM_SOURCE), cells.get(TRAFFIC_SOURCE), problems)
        if UTM_SOURCE in cells:
            refuse_direct_utm(cells[UTM_SOURCE], problems)
        if UTM_CAMPAIGN in cells:
            counts = pc.value_counts(cells[UTM_CAMPAIGN]).to_pylist()
            self.notices.add_campaigns({item["values"]: item["counts"] for item in counts})
        cells[EXPENSES] = expenses_column(columns[EXPENSES], problems, self.settings.decimal)
        if CURRENCY in columns:
            cells[CURRENCY] = currency_column(columns[CURRENCY], problems)
        if CLICKS in columns:
            cells[CLICKS] = clicks_column(columns[CLICKS], problems)
        return {column: cells[column] for column in self.settings.sources}, dates.start, dates.days

    def _check_range(self, start: np.ndarray, days: np.ndarray, problems: BatchProblems) -> None:
        bounds = self.settings.date_range
        if bounds is None:
            return
        known = days > 0
        outside = known & ((start < bounds[0]) | (start + days - 1 > bounds[1]))
        shown = "/".join(expand_days(bounds[0], 1) + expand_days(bounds[1], 1))
        problems.add(DATE, REASON_OUTSIDE.format(range=shown), outside)

    def _add_spend(self, start: np.ndarray, days: np.ndarray, amounts: pa.Array) -> None:
        table = pa.table({"start": start, "days": days, "amount": amounts.cast(pa.float64())})
        for row in table.group_by(["start", "days"]).aggregate([("amount", "sum")]).to_pylist():
            key = (row["start"], row["days"])
            self.spend[key] = self.spend.get(key, 0.0) + row["amount_sum"]

    def totals(self) -> dict[str, float]:
        """Return each covered day's expenses, ranges spread evenly over their days."""
        totals: dict[str, float] = {}
        for (start, days), amount in self.spend.items():
            for day in expand_days(start, days):
                totals[day] = totals.get(day, 0.0) + amount / days
        return dict(sorted(totals.items()))

    def report(self, rows_written: int) -> ExpensesReport:
        """Return the run's report; days of ``date_range=`` without rows read 0.

        :param rows_written: rows in the parts.
        """
        totals = self.totals() if rows_written else {}
        bounds = self.settings.date_range
        if bounds is not None and rows_written:
            every = dict.fromkeys(expand_days(bounds[0], bounds[1] - bounds[0] + 1), 0.0)
            totals = dict(sorted((every | totals).items()))
        return ExpensesReport(
            rows_read=self.rows_read,
            rows_written=rows_written,
            dates=list(totals),
            totals=totals,
            currency=set(self.currency),
            warnings=self.notices.warnings(),
            columns=list(self.settings.sources),
            rows_rejected=self.log.rows_rejected,
            rejected_by_reason=dict(self.log.by_reason.most_common()),
        )

    def _invalid_error(self) -> InvalidExpensesError:
        report = self.report(0)
        summary = (
            f"{report.rows_rejected:,} of {report.rows_read:,} rows are invalid, so nothing was written or "
            "sent. First problems:"
        )
        reasons = "\n".join(f"  {count:,} x {reason}" for reason, count in report.rejected_by_reason.items())
        hint = f"Problems by reason:\n{reasons}\nFix these values at the source and run again."
        return InvalidExpensesError(summary, list(self.log.examples), report, hint)
