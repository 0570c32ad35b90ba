"""Where rendered rows go: straight into parts, or through a spill file when later rows may replace them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from airflow_provider_metrika.simple_orders.assemble import OutputRows
from airflow_provider_metrika.simple_orders.parts import PartWriter
from airflow_provider_metrika.simple_orders.stats import BatchTotals, OrderStats, count_rows
from airflow_provider_metrika.simple_orders.sync_state import SENT_SCHEMA, RowChanges, SentOrders

_TOTALS = ("order_status", "revenue", "currency", "create_date_time", "goals")

#: A batch's counts: of the rows written, and of the rows left out as unchanged (None: none are).
SplitTotals = tuple[BatchTotals, BatchTotals | None]


def count_split(cells: dict[str, pa.Array], without_id: np.ndarray, send: np.ndarray | None) -> SplitTotals:
    """Count a batch's rows to write and, apart, the ones a sync state leaves out as unchanged.

    It touches no shared state, so the pipeline calls it on its worker threads.

    :param cells: the rows' written cells.
    :param without_id: per row, True when its ``id`` is empty.
    :param send: per row, True when it is written; None when all are.
    """
    counted = {name: cells[name] for name in _TOTALS if name in cells}
    if send is None or send.all():
        return count_rows(counted, without_id), None
    kept, left = pa.array(send), pa.array(~send)
    written = count_rows({name: cell.filter(kept) for name, cell in counted.items()}, without_id[send])
    held = count_rows(
        {name: cell.filter(left) for name, cell in counted.items()}, without_id[~send], held_only=True
    )
    return written, held


class DirectSink:
    """Writes rows to the parts as they come and counts them; with a sync state, only changed rows.

    :param writer: the part writer.
    :param stats: totals of written rows.
    :param sent: with a sync state, the log of rows sent (unchanged rows are counted and left out).
    """

    def __init__(self, writer: PartWriter, stats: OrderStats, sent: SentOrders | None = None) -> None:
        self.writer = writer
        self.stats = stats
        self.sent = sent

    def _write(
        self,
        rows: np.ndarray,
        lines: pa.Array,
        without_id: np.ndarray,
        cells: dict[str, pa.Array],
        changes: RowChanges | None,
        totals: SplitTotals | None,
    ) -> None:
        send = self.sent.select(changes) if self.sent is not None and changes is not None else None
        written, held = totals or count_split(cells, without_id, send)
        if held is not None:
            self.stats.add(held, held_only=True)
        if send is not None and not send.all():
            rows, lines, without_id = rows[send], lines.filter(pa.array(send)), without_id[send]
        self.writer.write(lines, without_id, rows)
        self.stats.add(written)

    def write(
        self, out: OutputRows, changes: RowChanges | None = None, totals: SplitTotals | None = None
    ) -> None:
        """Write one batch of rows.

        :param out: the rendered rows.
        :param changes: with a sync state, the rows' keys and fingerprints, and the state's.
        :param totals: the batch's counts by :func:`count_split`, when counted already.
        """
        self._write(out.rows, out.lines, out.without_id(), out.cells, changes, totals)

    def finish(self, superseded: np.ndarray) -> None:
        """Nothing is held back here.

        :param superseded: rows to leave out (always empty for this sink).
        """


class SpillSink(DirectSink):
    """Holds rendered rows in an Arrow IPC file until the rows replaced by later ones are known.

    :param writer: the part writer.
    :param stats: totals of written rows.
    :param path: the spill file.
    :param sent: with a sync state, the log of rows sent.
    """

    def __init__(
        self, writer: PartWriter, stats: OrderStats, path: Path, sent: SentOrders | None = None
    ) -> None:
        super().__init__(writer, stats, sent)
        self.path = path
        self._spill: ipc.RecordBatchStreamWriter | None = None

    def write(
        self, out: OutputRows, changes: RowChanges | None = None, totals: SplitTotals | None = None
    ) -> None:
        """Spill one batch of rows; they are counted when written, as some may be left out.

        :param out: the rendered rows.
        :param changes: with a sync state, the rows' keys and fingerprints, and the state's.
        :param totals: not used.
        """
        columns = {
            "row": pa.array(out.rows, pa.int64()),
            "line": out.lines,
            "without_id": pa.array(out.without_id()),
            **{name: out.cells[name] for name in _TOTALS if name in out.cells},
            **(changes.columns() if changes is not None else {}),
        }
        batch = pa.record_batch(list(columns.values()), names=list(columns))
        if self._spill is None:
            self._spill = ipc.new_stream(str(self.path), batch.schema)
        self._spill.write_batch(batch)

    def finish(self, superseded: np.ndarray) -> None:
        """Write the spilled rows except the superseded ones, in input order.

        :param superseded: sorted input row numbers to leave out.
        """
        if self._spill is None:
            return
        self._spill.close()
        with ipc.open_stream(str(self.path)) as reader:
            for batch in reader:
                rows = batch.column("row").to_numpy()
                keep = ~np.isin(rows, superseded, assume_unique=True)
                kept = batch if keep.all() else batch.filter(pa.array(keep))
                cells = {name: kept.column(name) for name in _TOTALS if name in kept.schema.names}
                without_id = kept.column("without_id").to_numpy(zero_copy_only=False)
                tracked = SENT_SCHEMA.names[0] in kept.schema.names
                changes = RowChanges.from_columns(kept) if tracked else None
                self._write(
                    kept.column("row").to_numpy(), kept.column("line"), without_id, cells, changes, None
                )
        self.path.unlink(missing_ok=True)
