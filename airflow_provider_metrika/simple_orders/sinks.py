"""Where rendered rows go: straight into parts, or through a spill file when later rows may replace them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from airflow_provider_metrika.simple_orders.assemble import OutputRows
from airflow_provider_metrika.simple_orders.parts import PartWriter
from airflow_provider_metrika.simple_orders.stats import OrderStats
from airflow_provider_metrika.simple_orders.sync_state import SENT_SCHEMA, RowChanges, SentOrders

_TOTALS = ("order_status", "revenue", "currency", "create_date_time")


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
    ) -> None:
        if self.sent is not None and changes is not None:
            send = self.sent.select(changes)
            if not send.all():
                unchanged = pa.array(~send)
                status = cells.get("order_status")
                self.stats.add_dates(
                    cells["create_date_time"].filter(unchanged) if "create_date_time" in cells else None,
                    None if status is None else status.filter(unchanged),
                    without_id[~send],
                    held_only=True,
                )
                mask = pa.array(send)
                rows, lines, without_id = rows[send], lines.filter(mask), without_id[send]
                cells = {name: cells[name].filter(mask) for name in _TOTALS if name in cells}
        self.writer.write(lines, without_id, rows)
        self.stats.add(len(rows), cells.get("order_status"), cells.get("revenue"), cells.get("currency"))
        self.stats.add_dates(cells.get("create_date_time"), cells.get("order_status"), without_id)

    def write(self, out: OutputRows, changes: RowChanges | None = None) -> None:
        """Write one batch of rows.

        :param out: the rendered rows.
        :param changes: with a sync state, the rows' keys and fingerprints, and the state's.
        """
        self._write(out.rows, out.lines, out.without_id(), out.cells, changes)

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

    def write(self, out: OutputRows, changes: RowChanges | None = None) -> None:
        """Spill one batch of rows.

        :param out: the rendered rows.
        :param changes: with a sync state, the rows' keys and fingerprints, and the state's.
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
                self._write(kept.column("row").to_numpy(), kept.column("line"), without_id, cells, changes)
        self.path.unlink(missing_ok=True)
