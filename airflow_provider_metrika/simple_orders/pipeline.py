"""Run batches through normalisation, validation, duplicate tracking and the part writer."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from airflow_provider_metrika.simple_orders.assemble import OutputRows, assemble_rows
from airflow_provider_metrika.simple_orders.columns import ID_COLUMN, REJECTS_NAME, SENT_NAME
from airflow_provider_metrika.simple_orders.csv_text import header_line
from airflow_provider_metrika.simple_orders.duplicates import DuplicateFindings, IdLedger
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.failures import (
    duplicates_error,
    invalid_rows_error,
    too_many_rejects_error,
)
from airflow_provider_metrika.simple_orders.normalise import NormalisedBatch, normalise_batch
from airflow_provider_metrika.simple_orders.notices import (
    DOMESTIC_PHONES,
    OLD_ORDERS,
    SUSPICIOUS_PHONES,
    WarningLog,
    domestic_phone_rows,
    link_cutoff,
    masked_phone,
    old_order_rows,
)
from airflow_provider_metrika.simple_orders.options import PrepareOptions
from airflow_provider_metrika.simple_orders.parts import PartWriter
from airflow_provider_metrika.simple_orders.phone_plan import suspicious_phone_rows
from airflow_provider_metrika.simple_orders.problems import BatchProblems, ProblemLog, cell_text
from airflow_provider_metrika.simple_orders.rejects import RejectsWriter, masked_reject_columns
from airflow_provider_metrika.simple_orders.report import OrdersReport, PreparedOrders
from airflow_provider_metrika.simple_orders.schema import ColumnPlan
from airflow_provider_metrika.simple_orders.sinks import DirectSink, SpillSink, SplitTotals, count_split
from airflow_provider_metrika.simple_orders.stats import OrderStats
from airflow_provider_metrika.simple_orders.sync_state import RowChanges, SentOrders, SyncState
from airflow_provider_metrika.simple_orders.text import check_exact_text, decode_utf8

REASON_UTF8 = "is not valid UTF-8 text"
#: Threads normalising batches while this thread reads and writes. Each holds a batch, so more than two
#: add memory for little gain: the work is memory-bound and the target workers have two cores.
WORKERS = min(2, os.cpu_count() or 1)


@dataclass
class _Computed:
    """One batch after normalisation and rendering, waiting to be written."""

    batch: pa.RecordBatch
    columns: dict[str, pa.Array]
    problems: BatchProblems
    invalid: np.ndarray
    rows: np.ndarray
    out: OutputRows
    notices: dict[str, np.ndarray]
    dates: pa.Array | None
    changes: RowChanges | None
    totals: SplitTotals | None


class OrdersPipeline:
    """One preparation run over a stream of batches.

    :param options: validated options.
    :param plan: the column plan.
    :param names: the input column names.
    :param directory: the output directory.
    :param from_csv: whether batches hold raw CSV bytes.
    :param state: what the destination already holds: rows equal to it are counted, not written.
    """

    def __init__(
        self,
        options: PrepareOptions,
        plan: ColumnPlan,
        names: list[str],
        directory: Path,
        from_csv: bool,
        state: SyncState | None = None,
    ) -> None:
        self.options = options
        self.plan = plan
        self.names = names
        self.from_csv = from_csv
        self.rows_read = 0
        self.failed = False
        self.log = ProblemLog()
        self.notices = WarningLog()
        self.cutoff = link_cutoff(options.now, options.timezone) if options.now is not None else None
        self.stats = OrderStats()
        self.state = state
        if state is not None:
            state.check_columns(plan.output)
        self.sent = SentOrders(directory / SENT_NAME) if state is not None else None
        self.work_dir = Path(tempfile.mkdtemp(prefix=".simple-orders-", dir=directory))
        header = header_line(plan.output, options.separator)
        self.writer = PartWriter(directory, header, options.max_part_bytes)
        self.keep_last = options.duplicates == "keep_last"
        self.sink = (
            SpillSink(self.writer, self.stats, self.work_dir / "rows.arrow", self.sent)
            if self.keep_last
            else DirectSink(self.writer, self.stats, self.sent)
        )
        self.ledger = IdLedger(self.work_dir) if ID_COLUMN in plan.sources else None
        skip = options.on_invalid == "skip"
        masked = masked_reject_columns(names, plan.sources) if options.hash_identifiers else frozenset()
        self.rejects = (
            RejectsWriter(directory / REJECTS_NAME, names, options.separator, masked) if skip else None
        )

    def _decode(self, batch: pa.RecordBatch, problems: BatchProblems) -> pa.RecordBatch:
        """Decode raw CSV bytes, recording cells that are not UTF-8 (in written columns only)."""
        targets = {source: target for target, source in self.plan.sources.items()}
        arrays = []
        for name in self.names:
            text, bad = decode_utf8(batch.column(name))
            if bad is not None and name in targets:
                problems.add(targets[name], REASON_UTF8, bad)
            arrays.append(text)
        return pa.RecordBatch.from_arrays(arrays, names=self.names)

    def run(self, batches: Iterator[pa.RecordBatch]) -> PreparedOrders:
        """Process every batch and return the result.

        Batches are normalised on worker threads (Arrow and numpy release the GIL), while this thread
        reads the input and writes the results in input order; at most a few batches are in flight.

        :param batches: rows with the input's columns.
        """
        pending: deque[Future[_Computed]] = deque()
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="simple-orders") as pool:
            try:
                for batch in batches:
                    if batch.num_rows == 0:
                        continue
                    if not self.plan.sources:
                        raise OrdersInputError("the input has rows but no columns")
                    pending.append(pool.submit(self._compute, batch, self.rows_read + 1))
                    self.rows_read += batch.num_rows
                    if len(pending) > WORKERS:
                        self._consume(pending.popleft().result())
                while pending:
                    self._consume(pending.popleft().result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return self.finish()

    def _compute(self, batch: pa.RecordBatch, first_row: int) -> _Computed:
        """Normalise and render one batch; touches no shared state, so it runs on a worker thread."""
        count = batch.num_rows
        problems = BatchProblems(count)
        if self.from_csv:
            batch = self._decode(batch, problems)
        columns = {target: batch.column(source) for target, source in self.plan.sources.items()}
        check_exact_text(columns, self.plan.sources)  # every float column in one error, not one a run
        normalised = normalise_batch(columns, self.options, problems)
        invalid = problems.invalid()
        rows = np.arange(first_row, first_row + count, dtype=np.int64)
        out = assemble_rows(
            normalised,
            ~invalid,
            rows,
            self.plan.output,
            self.options.separator,
            self.options.hash_identifiers,
        )
        notices = self._notices(normalised, ~invalid)
        dates = normalised.text.get("create_date_time")
        changes = RowChanges.of(self.state, out.ids, out.lines) if self.state is not None else None
        # Kept rows are counted when the spill file is written out: later rows may replace them.
        totals = (
            None
            if self.keep_last
            else count_split(out.cells, out.without_id(), None if changes is None else changes.to_send())
        )
        return _Computed(batch, columns, problems, invalid, rows, out, notices, dates, changes, totals)

    def _notices(self, normalised: NormalisedBatch, valid: np.ndarray) -> dict[str, np.ndarray]:
        """Flag valid rows that Metrika will accept but not link as the user expects."""
        found: dict[str, np.ndarray] = {}
        phones = normalised.multi.get("phones")
        if phones is not None and not self.options.rewrite_leading_8:
            found[DOMESTIC_PHONES] = domestic_phone_rows(phones, len(valid)) & valid
        if phones is not None:
            found[SUSPICIOUS_PHONES] = suspicious_phone_rows(phones, len(valid)) & valid
        dates = normalised.text.get("create_date_time")
        if dates is not None and self.cutoff is not None:
            found[OLD_ORDERS] = old_order_rows(dates, self.cutoff) & valid
        return found

    def _consume(self, done: _Computed) -> None:
        """Record problems and write one computed batch, in input order."""
        self.log.record(
            done.problems, int(done.rows[0]), lambda column, index: _shown(done.columns, column, index)
        )
        first = int(done.rows[0])
        for kind, mask in done.notices.items():
            self.notices.record(kind, mask, first, partial(_notice_example, done, kind))
        if done.invalid.any():
            self._reject(done.batch, done.problems, done.invalid, done.rows)
        if not self.failed:
            out = done.out
            if self.ledger is not None and out.ids is not None:
                with_id = ~out.without_id()
                self.ledger.add(out.ids.filter(pa.array(with_id)), out.rows[with_id])
            self.sink.write(out, done.changes, done.totals)
        if self.options.progress is not None:
            self.options.progress(int(done.rows[-1]))

    def _reject(
        self, batch: pa.RecordBatch, problems: BatchProblems, invalid: np.ndarray, rows: np.ndarray
    ) -> None:
        if self.rejects is None:
            self.failed = True  # keep validating to count every problem, but write nothing more
            self.writer.discard()
            return
        indices = np.flatnonzero(invalid)
        self.rejects.write(batch.take(pa.array(indices)), rows[indices], problems.reasons_text(indices))

    def _report(self, findings: DuplicateFindings, rejects_path: Path | None) -> OrdersReport:
        status_counts = self.stats.status_counts()
        return OrdersReport(
            rows_read=self.rows_read,
            rows_written=sum(part.rows for part in self.writer.parts),
            rows_rejected=self.log.rows_rejected,
            rejected_by_reason=dict(self.log.by_reason.most_common()),
            examples=list(self.log.examples),
            duplicate_ids=findings.duplicate_ids,
            duplicates_dropped=len(findings.superseded_rows) if self.keep_last else 0,
            dropped_columns=list(self.plan.dropped),
            columns=list(self.plan.output),
            status_counts=status_counts,
            revenue_by_currency=self.stats.revenue_by_currency(),
            goal_counts=self.stats.goal_counts(),
            rejects_path=rejects_path,
            timezone=self.options.timezone,
            source_timezone=self.options.naive_timezone,
            warnings=self.notices.warnings(status_counts),
            changed_only=self.sent is not None,
            orders_new=self.sent.new if self.sent is not None else 0,
            orders_changed=self.sent.changed if self.sent is not None else 0,
            orders_unchanged=self.sent.unchanged if self.sent is not None else 0,
            orders_by_date=self.stats.orders_by_date(),
            orders_held_by_date=self.stats.orders_by_date(held=True),
            orders_without_id_by_date=dict(sorted(self.stats.without_id_by_date.items())),
        )

    def finish(self) -> PreparedOrders:
        """Check repeats and the rejected share, write held-back rows, and return parts and report."""
        findings = (
            self.ledger.finish() if self.ledger is not None and not self.failed else DuplicateFindings()
        )
        rejects_path = self.rejects.close() if self.rejects is not None else None
        if self.failed:
            raise invalid_rows_error(self._report(findings, None))
        if findings.duplicate_ids and self.options.duplicates == "error":
            raise duplicates_error(findings, self._report(findings, rejects_path))
        if self.rows_read and self.log.rows_rejected / self.rows_read > self.options.max_invalid_fraction:
            raise too_many_rejects_error(
                self._report(findings, rejects_path), self.options.max_invalid_fraction
            )
        self.sink.finish(findings.superseded_rows)
        parts = self.writer.close()
        report = self._report(findings, rejects_path)
        return PreparedOrders(
            parts,
            dataclasses.replace(report, rows_written=sum(part.rows for part in parts)),
            self.sent.close() if self.sent is not None else None,
        )

    def discard(self) -> None:
        """Delete every part written (the run failed); the rejects file stays for the user to read."""
        self.writer.discard()
        if self.sent is not None:
            self.sent.close().unlink(missing_ok=True)
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the private work directory."""
        shutil.rmtree(self.work_dir, ignore_errors=True)


def _notice_example(done: _Computed, kind: str, index: int) -> str:
    if kind in (DOMESTIC_PHONES, SUSPICIOUS_PHONES):
        return masked_phone(_shown(done.columns, "phones", index))
    # The date as sent, in the counter's time zone: the one the 21-day window is measured in.
    return "" if done.dates is None else str(done.dates[index].as_py())


def _shown(columns: dict[str, pa.Array], column: str, index: int) -> str:
    array = columns.get(column)
    return "" if array is None else cell_text(array, index)
