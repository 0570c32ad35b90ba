"""Run batches through the column checks and into part files, counting what the report shows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.offline_conversions.columns import (
    CURRENCY,
    DATE_TIME,
    DURATION_COLUMNS,
    FLAG_COLUMNS,
    LINK_WINDOW_DAYS,
    PHONE_NUMBER,
    PRICE,
    STATIC_CALL,
    TARGET,
    TEXT_COLUMNS,
    URL_COLUMNS,
    FileKind,
)
from airflow_provider_metrika.offline_conversions.datetimes import TimeRules, normalise_times
from airflow_provider_metrika.offline_conversions.errors import InvalidConversionsError
from airflow_provider_metrika.offline_conversions.masking import mask_cell
from airflow_provider_metrika.offline_conversions.notices import (
    NORMALISED_PHONES,
    OLD_ROWS,
    STATIC_CALLS,
    TRIMMED_VALUES,
    WarningLog,
)
from airflow_provider_metrika.offline_conversions.report import (
    ConversionsPart,
    ConversionsReport,
    PreparedConversions,
)
from airflow_provider_metrika.offline_conversions.schema import ColumnPlan
from airflow_provider_metrika.offline_conversions.values import (
    currency_column,
    duration_column,
    flag_column,
    identifier_column,
    phone_column,
    price_column,
    refuse_float_columns,
    text_column,
    url_column,
)
from airflow_provider_metrika.simple_orders.csv_text import csv_lines, header_line, quote_cells
from airflow_provider_metrika.simple_orders.parts import PartWriter
from airflow_provider_metrika.simple_orders.problems import BatchProblems, ProblemLog, cell_text
from airflow_provider_metrika.simple_orders.text import decode_utf8

REASON_UTF8 = "is not valid UTF-8 text"
#: Columns that may come as floats: each reads them by a rule of its own.
FLOAT_COLUMNS = frozenset({DATE_TIME, PRICE, *FLAG_COLUMNS, *DURATION_COLUMNS})


@dataclass(frozen=True)
class RunSettings:
    """What a run needs besides the input: the file, its columns, and the rules for values.

    :param kind: the file.
    :param plan: the column plan.
    :param rules: how ``DateTime`` is read, and ``now``.
    :param decimal: how ``Price`` text is read.
    :param max_part_bytes: the largest part, header included.
    :param progress: called with the rows read after each batch.
    """

    kind: FileKind
    plan: ColumnPlan
    rules: TimeRules
    decimal: str
    max_part_bytes: int
    progress: Callable[[int], object] | None = None


@dataclass
class _Totals:
    targets: Counter[str] = field(default_factory=Counter)
    first: int | None = None
    last: int | None = None
    old: int = 0
    static: int = 0


class ConversionsPipeline:
    """One preparation run over a stream of batches.

    :param settings: the run's file, plan and rules.
    :param directory: where parts are written.
    :param from_csv: whether batches hold raw CSV bytes.
    """

    def __init__(self, settings: RunSettings, directory: Path, from_csv: bool) -> None:
        self.settings = settings
        self.plan = settings.plan
        self.from_csv = from_csv
        self.rows_read = 0
        self.failed = False
        self.log = ProblemLog()
        self.notices = WarningLog()
        self.totals = _Totals()
        self.cutoff = settings.rules.now - LINK_WINDOW_DAYS * 86400
        header = header_line(list(self.plan.sources), ",")
        self.writer = PartWriter(directory, header, settings.max_part_bytes)

    def run(self, batches: Iterator[pa.RecordBatch]) -> PreparedConversions:
        """Check and write every batch, then return the parts, or raise if any row was refused.

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
            ConversionsPart(path=part.path, sha256=part.sha256, rows=part.rows, bytes=part.bytes)
            for part in self.writer.close()
        ]
        return PreparedConversions(parts, self.report(sum(part.rows for part in parts)))

    def discard(self) -> None:
        """Delete every part written: the run failed."""
        self.writer.discard()

    def _columns(self, batch: pa.RecordBatch, problems: BatchProblems) -> dict[str, pa.Array]:
        columns = {}
        for column, source in self.plan.sources.items():
            array = batch.column(source)
            if self.from_csv:
                array, bad = decode_utf8(array)
                if bad is not None:
                    problems.add(column, REASON_UTF8, bad)
            columns[column] = array
        refuse_float_columns(columns, self.plan.sources, FLOAT_COLUMNS)
        return columns

    def _batch(self, batch: pa.RecordBatch, first_row: int) -> None:
        count = batch.num_rows
        problems = BatchProblems(count)
        columns = self._columns(batch, problems)
        cells = self._cells(columns, problems, first_row)
        self.log.record(problems, first_row, lambda c, i: cell_text(columns[c], i), mask_cell)
        invalid = problems.invalid()
        if invalid.any():
            self.failed = True  # keep checking to count every problem, but write nothing more
            self.writer.discard()
        if self.failed:
            return
        self._count(cells, first_row)
        lines = csv_lines([quote_cells(cells[column]) for column in self.plan.sources], ",")
        rows = np.arange(first_row, first_row + count, dtype=np.int64)
        self.writer.write(lines, np.zeros(count, dtype=bool), rows)

    def _cells(
        self, columns: dict[str, pa.Array], problems: BatchProblems, first_row: int
    ) -> dict[str, pa.Array]:
        """Return each column as written; record refused values and the tidied rows."""
        cells: dict[str, pa.Array] = {}
        for column, array in columns.items():
            trimmed = None
            if column == self.plan.identifier:
                cells[column], trimmed = identifier_column(array, column, problems)
            elif column in TEXT_COLUMNS:
                cells[column], trimmed = text_column(array, column, problems, required=column == TARGET)
            elif column == DATE_TIME:
                times = normalise_times(array, self.settings.rules, problems)
                cells[column] = times.text
                self._count_times(times.seconds, times.ok, first_row)
            elif column == PRICE:
                cells[column] = price_column(array, problems, self.settings.decimal)
            elif column == CURRENCY:
                cells[column] = currency_column(array, problems)
            elif column == PHONE_NUMBER:
                cells[column], changed = phone_column(array, problems)
                self.notices.record(NORMALISED_PHONES, changed, first_row)
            elif column in FLAG_COLUMNS:
                cells[column] = flag_column(array, column, problems)
            elif column in DURATION_COLUMNS:
                cells[column] = duration_column(array, column, problems)
            elif column in URL_COLUMNS:
                cells[column] = url_column(array, column, problems)
            if trimmed is not None:
                self.notices.record(TRIMMED_VALUES, trimmed, first_row, column)
        return cells

    def _count_times(self, seconds: np.ndarray, ok: np.ndarray, first_row: int) -> None:
        if not ok.any():
            return
        valid = seconds[ok]
        low, high = int(valid.min()), int(valid.max())
        totals = self.totals
        totals.first = low if totals.first is None else min(totals.first, low)
        totals.last = high if totals.last is None else max(totals.last, high)
        old = ok & (seconds < self.cutoff)
        totals.old += int(old.sum())
        self.notices.record(OLD_ROWS, old, first_row)

    def _count(self, cells: dict[str, pa.Array], first_row: int) -> None:
        """Count the written rows' targets and static calls."""
        if TARGET in cells:
            for item in pc.value_counts(cells[TARGET]).to_pylist():
                self.totals.targets[item["values"]] += item["counts"]
        if STATIC_CALL in cells:
            static = pc.equal(cells[STATIC_CALL], "1").to_numpy(zero_copy_only=False)
            self.totals.static += int(static.sum())
            self.notices.record(STATIC_CALLS, static, first_row)

    def report(self, rows_written: int) -> ConversionsReport:
        """Return the run's report.

        :param rows_written: rows in the parts.
        """
        totals = self.totals
        return ConversionsReport(
            kind=self.settings.kind.name,
            rows_read=self.rows_read,
            rows_written=rows_written,
            client_id_type=self.plan.client_id_type,
            targets=dict(totals.targets.most_common()),
            first_time=_iso(totals.first),
            last_time=_iso(totals.last),
            rows_older_than_window=totals.old,
            static_calls=totals.static,
            warnings=self.notices.warnings(self.plan.unused_identifiers, self.plan.identifier, rows_written),
            columns=list(self.plan.sources),
            rows_rejected=self.log.rows_rejected,
            rejected_by_reason=dict(self.log.by_reason.most_common()),
            timezone=self.settings.rules.naive_zone,
        )

    def _invalid_error(self) -> InvalidConversionsError:
        report = self.report(0)
        summary = (
            f"{report.rows_rejected:,} of {report.rows_read:,} rows are invalid, so nothing was written or "
            "sent: Metrika drops invalid rows without an error, so every row must be valid. First problems:"
        )
        reasons = "\n".join(f"  {count:,} x {reason}" for reason, count in report.rejected_by_reason.items())
        hint = (
            f"Problems by reason:\n{reasons}\nFix these values at the source (or leave those rows out of "
            "the input knowingly) and run again."
        )
        return InvalidConversionsError(summary, list(self.log.examples), report, hint)


def _iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")
