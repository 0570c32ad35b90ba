"""Find ids that occur in more than one row, with memory bounded however long the input is.

Ids are kept in memory up to a budget; past it they are spilled to bucket files on disk (partitioned by a
64-bit hash of the id), and each bucket is checked on its own at the end. Within a bucket, rows whose hashes
repeat are candidates, compared exactly by id: a hash collision never reports a false duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from airflow_provider_metrika.simple_orders.bytes_ops import hash64
from airflow_provider_metrika.simple_orders.columns import MAX_EXAMPLES

_SCHEMA = pa.schema([("hash", pa.uint64()), ("row", pa.int64()), ("id", pa.string())])
#: Bytes of ids kept in memory before spilling to disk.
MEMORY_BUDGET = 32 << 20
BUCKETS = 64
_BUCKET_SHIFT = np.uint64(58)  # top 6 bits of the hash pick one of 64 buckets


@dataclass
class DuplicateFindings:
    """What the ledger found.

    :param duplicate_ids: ids found in more than one row.
    :param extra_rows: rows beyond the first of each repeated id.
    :param examples: the first repeated ids (by first row) with all their rows.
    :param superseded_rows: sorted row numbers that are not the last row of their id.
    """

    duplicate_ids: int = 0
    extra_rows: int = 0
    examples: list[tuple[str, list[int]]] = field(default_factory=list)
    superseded_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _candidates(table: pa.Table) -> pa.Table:
    """Return the rows whose hash occurs more than once."""
    hashes = table.column("hash").to_numpy()
    order = np.argsort(hashes, kind="stable")
    equal = hashes[order][1:] == hashes[order][:-1]
    repeated = np.zeros(len(hashes), dtype=bool)
    repeated[1:] |= equal
    repeated[:-1] |= equal
    return table.take(pa.array(np.sort(order[repeated])))


def _find_in(table: pa.Table, findings: DuplicateFindings) -> list[tuple[int, str, list[int]]]:
    """Add the repeats within one table (a bucket) to ``findings``; return (first row, id, rows) examples."""
    table = _candidates(table)
    if table.num_rows == 0:
        return []
    groups = table.group_by("id", use_threads=False).aggregate(
        [("row", "count"), ("row", "max"), ("row", "min")]
    )
    repeated = groups.filter(pc.greater(groups["row_count"], 1))
    if repeated.num_rows == 0:
        return []
    findings.duplicate_ids += repeated.num_rows
    findings.extra_rows += int(pc.sum(repeated["row_count"]).as_py()) - repeated.num_rows
    rows = table.filter(pc.is_in(table["id"], value_set=repeated["id"]))
    last = pc.take(repeated["row_max"], pc.index_in(rows["id"], value_set=repeated["id"]))
    superseded = rows["row"].filter(pc.not_equal(rows["row"], last)).to_numpy()
    findings.superseded_rows = np.concatenate([findings.superseded_rows, superseded])
    first = repeated.sort_by("row_min").slice(0, MAX_EXAMPLES)
    examples = []
    for value, first_row in zip(first["id"].to_pylist(), first["row_min"].to_pylist(), strict=True):
        these = rows.filter(pc.equal(rows["id"], value))["row"].to_pylist()
        examples.append((first_row, value, sorted(these)))
    return examples


class IdLedger:
    """Remembers (id, row) pairs of valid rows and reports ids that repeat.

    :param spill_dir: a private directory for bucket files.
    :param memory_budget: bytes of ids kept in memory before spilling; :data:`MEMORY_BUDGET` when not
        given, read as the ledger is built.
    """

    def __init__(self, spill_dir: Path, memory_budget: int | None = None) -> None:
        self.spill_dir = spill_dir
        self.memory_budget = MEMORY_BUDGET if memory_budget is None else memory_budget
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._writers: list[ipc.RecordBatchStreamWriter] = []

    def add(self, ids: pa.Array, rows: np.ndarray) -> None:
        """Remember ids (non-empty, as text) and their input row numbers.

        :param ids: the ids.
        :param rows: 1-based input row numbers, same length.
        """
        if len(ids) == 0:
            return
        ids = ids.cast(pa.string())
        columns = [pa.array(hash64(ids), pa.uint64()), pa.array(rows, pa.int64()), ids]
        batch = pa.record_batch(columns, schema=_SCHEMA)
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        if self._pending_bytes > self.memory_budget:
            self._spill()

    def _spill(self) -> None:
        if not self._writers:
            paths = [self.spill_dir / f"ids-{index:03d}.arrow" for index in range(BUCKETS)]
            self._writers = [ipc.new_stream(str(path), _SCHEMA) for path in paths]
        for batch in self._pending:
            buckets = (batch.column(0).to_numpy() >> _BUCKET_SHIFT).astype(np.int64)
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(BUCKETS + 1))
            grouped = batch.take(pa.array(order))
            for index, writer in enumerate(self._writers):
                if bounds[index + 1] > bounds[index]:
                    writer.write_batch(grouped.slice(bounds[index], bounds[index + 1] - bounds[index]))
        self._pending, self._pending_bytes = [], 0

    def _tables(self) -> Iterator[pa.Table]:
        """Yield all ids in memory, or one spilled bucket at a time."""
        if not self._writers:
            yield pa.Table.from_batches(self._pending, schema=_SCHEMA)
            return
        self._spill()
        for writer in self._writers:
            writer.close()
        for path in sorted(self.spill_dir.glob("ids-*.arrow")):
            with ipc.open_stream(str(path)) as reader:
                yield reader.read_all()

    def finish(self) -> DuplicateFindings:
        """Return the repeated ids; reads one bucket at a time when ids were spilled."""
        findings = DuplicateFindings()
        examples: list[tuple[int, str, list[int]]] = []
        for table in self._tables():
            examples.extend(_find_in(table, findings))
        findings.examples = [(value, rows) for _, value, rows in sorted(examples)[:MAX_EXAMPLES]]
        findings.superseded_rows.sort()
        return findings
