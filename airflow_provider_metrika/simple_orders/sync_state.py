"""What one destination already holds: a fingerprint per order sent, so later runs send only changes.

A state is a Parquet file of two ``uint64`` columns sorted by ``key``: ``key`` is a hash of the
order's ``id`` (of the whole written row for a row without an id) and ``fingerprint`` a hash of the
normalised row as written to Metrika. Its schema metadata names the destination (API host and
counter) and the columns written, so a state is never applied to another destination or layout.
In memory a state takes 16 bytes per order; rewriting it adds 16 bytes per new order and up to
about 20 MB of buffers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from airflow_provider_metrika.simple_orders.bytes_ops import hash64, lengths

#: The state format, in the file's metadata. Version 2 adds the names of the change files folded
#: in (``folded``) and the fingerprint 2 for an order whose value in Metrika is unknown; a reader
#: reads both versions and refuses any other.
STATE_FORMAT = "metrika-simple-orders-sync/2"
READABLE_FORMATS = ("metrika-simple-orders-sync/1", STATE_FORMAT)
_METADATA_KEY = b"metrika_sync_state"
_SCHEMA = pa.schema([("key", pa.uint64()), ("fingerprint", pa.uint64())])
#: A sent order: its key, the fingerprint sent and the one the state held before (0: none).
SENT_SCHEMA = pa.schema([("key", pa.uint64()), ("fingerprint", pa.uint64()), ("previous", pa.uint64())])
#: ``sync_fold.UNKNOWN_NEW`` and ``sync_fold.PENDING_NEW``: sent before but never confirmed, or in
#: flight, and not held before that: such an order counts as new.
_UNKNOWN_NEW = np.uint64(4)
_PENDING_NEW = np.uint64(8)
_ID_SEED = 1
_ROW_SEED = 2
_NO_ID = np.uint64(0xD6E8FEB86659FD93)
_MIX = np.uint64(0x9E3779B97F4A7C15)
#: Orders per step of a merge (at most twice as many per Parquet row group): buffers of about 6 MB.
CHUNK = 1 << 16


class SyncStateError(ValueError):
    """A sync state cannot be used: written for another destination or columns, or unreadable."""


@dataclass(frozen=True)
class Destination:
    """Where orders are sent: the API host and the counter.

    :param api: the API host, e.g. ``api-metrika.yandex.net``.
    :param counter: the counter id.
    """

    api: str
    counter: int

    def describe(self) -> str:
        """Return ``counter 12345 at api-metrika.yandex.net``."""
        return f"counter {self.counter} at {self.api}"


def fingerprint_rows(ids: pa.Array | None, lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return each written row's key and fingerprint.

    :param ids: the normalised ``id`` text of each row (``""`` when empty), or None without an id column.
    :param lines: the CSV lines as written.
    :return: keys (a hash of the id; of the whole row when it has no id) and fingerprints (a hash of
        the whole row, never 0).
    """
    fingerprints = hash64(lines, seed=_ROW_SEED) | np.uint64(1)
    with np.errstate(over="ignore"):
        keys = (fingerprints ^ _NO_ID) * _MIX
        keys ^= keys >> np.uint64(29)
    if ids is not None and len(ids):
        with_id = np.flatnonzero(lengths(ids) > 0)
        if len(with_id):
            chosen = ids if len(with_id) == len(ids) else ids.take(pa.array(with_id))
            keys[with_id] = hash64(chosen, seed=_ID_SEED)
    return keys, fingerprints


@dataclass
class SyncState:
    """The orders a destination holds, as sorted keys and their fingerprints.

    :param destination: where these orders were sent.
    :param columns: the columns the fingerprints were taken over; None for an empty new state.
    :param keys: sorted, unique order keys.
    :param fingerprints: the fingerprint of each key's row as sent.
    :param location: where the state is kept, for messages.
    :param folded: the change files already folded into the stored state (skipped when read).
    :param resolution: what reading found of uploads since the stored state (for the log).
    """

    destination: Destination
    columns: tuple[str, ...] | None
    keys: np.ndarray
    fingerprints: np.ndarray
    location: str = "(new)"
    folded: tuple[str, ...] = ()
    resolution: Any = None
    #: A full refresh reads the state only for the fold's ``previous``: every order is sent.
    send_all: bool = False

    @classmethod
    def empty(cls, destination: Destination) -> SyncState:
        """Return a state holding no orders (a first run, or a full refresh)."""
        none = np.zeros(0, dtype=np.uint64)
        return cls(destination, None, none, none.copy())

    @property
    def orders(self) -> int:
        """The number of orders tracked."""
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes the state takes in memory."""
        return int(self.keys.nbytes + self.fingerprints.nbytes)

    @classmethod
    def read(cls, source: IO[bytes] | str | Path, destination: Destination, where: str) -> SyncState:
        """Read a state file, refusing one written for another destination.

        :param source: the Parquet file (a seekable binary file or a local path).
        :param destination: where this run sends orders.
        :param where: the state's location, for error messages.
        """
        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as error:
            raise SyncStateError(f"the sync state {where} is not a readable Parquet file: {error}") from None
        info = _read_metadata(parquet.schema_arrow.metadata, where)
        found = Destination(str(info.get("api")), int(info.get("counter", -1)))
        if found != destination:
            raise SyncStateError(
                f"the sync state {where} was written for {found.describe()}, but this task sends to "
                f"{destination.describe()}: point sync_state= at another location for this "
                "destination, or set full_refresh=True to send every order and replace the state"
            )
        rows = parquet.metadata.num_rows
        keys = np.empty(rows, dtype=np.uint64)
        fingerprints = np.empty(rows, dtype=np.uint64)
        start = 0
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=["key", "fingerprint"])
            stop = start + table.num_rows
            keys[start:stop] = table.column("key").to_numpy()
            fingerprints[start:stop] = table.column("fingerprint").to_numpy()
            start = stop
        if rows > 1 and not bool((keys[1:] > keys[:-1]).all()):
            raise SyncStateError(
                f"the sync state {where} is damaged (its keys are not sorted): set full_refresh=True "
                "to send every order and rebuild it"
            )
        columns = tuple(info.get("columns") or ())
        return cls(destination, columns, keys, fingerprints, where, tuple(info.get("folded") or ()))

    def check_columns(self, columns: list[str]) -> None:
        """Refuse to compare rows written with other columns than the state's.

        A full refresh (:attr:`send_all`) compares nothing then: it forgets the state's values.

        :param columns: the columns this run writes, in order.
        """
        if self.columns is not None and tuple(columns) != self.columns and self.send_all:
            self.keys = np.zeros(0, dtype=np.uint64)
            self.fingerprints = np.zeros(0, dtype=np.uint64)
            self.columns = None
            return
        if self.columns is not None and tuple(columns) != self.columns:
            raise SyncStateError(
                f"the sync state {self.location} holds rows written with the columns "
                f"{', '.join(self.columns)}, but this run writes {', '.join(columns)}: rows cannot be "
                "compared; set full_refresh=True to send every order and rebuild the state"
            )

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each key's position in the state and whether the state holds it there."""
        if not self.orders:
            return np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
        positions = np.searchsorted(self.keys, keys)
        np.minimum(positions, self.orders - 1, out=positions)
        return positions, self.keys[positions] == keys

    def _held(self, positions: np.ndarray, found: np.ndarray) -> np.ndarray:
        """Return the fingerprints at ``positions`` where ``found``, 0 elsewhere."""
        if not self.orders:
            return np.zeros(len(found), dtype=np.uint64)
        return np.where(found, self.fingerprints[positions], np.uint64(0))

    def previous(self, keys: np.ndarray) -> np.ndarray:
        """Return the fingerprint held for each key, 0 for a key the state does not hold.

        :param keys: order keys.
        """
        return self._held(*self._find(keys))

    def apply(self, sent: Callable[[], Iterator[pa.RecordBatch]]) -> MergeResult:
        """Record orders Metrika accepted; return what to write. The state's arrays are changed.

        A key whose fingerprint moved since this run read the state (another run sent it meanwhile)
        and differs from ours is dropped: which value Metrika holds is unknown, so it is sent again.
        The sent orders are read three times (to count, to apply, and for the fingerprints of new
        keys), so that memory holds the state plus 16 bytes per new order, and no index array.

        :param sent: returns the batches of :data:`SENT_SCHEMA`, from the start, at each call.
        """
        added = np.empty(sum(batch.num_rows for batch in sent()), dtype=np.uint64)
        count = conflicts = 0
        for batch in sent():
            sent_rows = RowChanges.from_columns(batch)
            positions, found = self._find(sent_rows.keys)
            held = self._held(positions, found)
            agreed = (held == sent_rows.previous) | (held == sent_rows.fingerprints)
            conflicts += int((~agreed).sum())
            # 0 marks a key to drop when the state is written.
            self.fingerprints[positions[found]] = np.where(
                agreed[found], sent_rows.fingerprints[found], np.uint64(0)
            )
            new = sent_rows.keys[~found & agreed]
            added[count : count + len(new)] = new
            count += len(new)
        added = added[:count]
        added.sort()
        added_fingerprints = np.zeros(count, dtype=np.uint64)
        if count:
            for batch in sent():
                sent_rows = RowChanges.from_columns(batch)
                # The last of repeated keys gets the fingerprint; the write keeps the last one.
                positions = np.maximum(np.searchsorted(added, sent_rows.keys, side="right") - 1, 0)
                mine = added[positions] == sent_rows.keys
                added_fingerprints[positions[mine]] = sent_rows.fingerprints[mine]
        return MergeResult(self, added, added_fingerprints, conflicts)


def _read_metadata(metadata: dict[bytes, bytes] | None, where: str) -> dict[str, Any]:
    raw = (metadata or {}).get(_METADATA_KEY)
    try:
        info = json.loads(raw) if raw else None
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("format") not in READABLE_FORMATS:
        raise SyncStateError(
            f"{where} is not a sync state of this provider ({STATE_FORMAT}): point sync_state= at a "
            "location of its own"
        )
    return info


@dataclass
class MergeResult:
    """A state with accepted orders applied, ready to be written.

    :param state: the state, with changed fingerprints updated and dropped keys marked 0.
    :param added_keys: sorted keys the state did not hold (repeats possible: identical rows).
    :param added_fingerprints: their fingerprints.
    :param conflicts: keys dropped because another run changed them meanwhile.
    """

    state: SyncState
    added_keys: np.ndarray
    added_fingerprints: np.ndarray
    conflicts: int

    def write(self, out: IO[bytes], columns: list[str], folded: tuple[str, ...] = ()) -> int:
        """Write the merged state as Parquet, sorted by key; return the number of orders written.

        :param out: a binary file to write to.
        :param columns: the columns the rows were written with.
        :param folded: the change files folded into it.
        """
        state = self.state
        metadata = {
            _METADATA_KEY: json.dumps(
                {
                    "format": STATE_FORMAT,
                    "api": state.destination.api,
                    "counter": state.destination.counter,
                    "columns": list(columns),
                    "folded": list(folded),
                    "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            ).encode()
        }
        written = 0
        last = None
        merged = _merged_chunks(state.keys, state.fingerprints, self.added_keys, self.added_fingerprints)
        with pq.ParquetWriter(out, _SCHEMA.with_metadata(metadata), compression="zstd") as writer:
            for keys, fingerprints in merged:
                keep = fingerprints != 0
                if last is not None and len(keys) and keys[0] == last:
                    keep[0] = False  # the same key ended the chunk before
                # Repeated added keys (identical rows without id) are adjacent: keep one.
                keep[:-1] &= keys[:-1] != keys[1:]
                keys, fingerprints = keys[keep], fingerprints[keep]
                if not len(keys):
                    continue
                last = keys[-1]
                written += len(keys)
                writer.write_table(pa.table([pa.array(keys), pa.array(fingerprints)], schema=writer.schema))
        return written


def _merged_chunks(
    keys: np.ndarray, fingerprints: np.ndarray, added: np.ndarray, added_fingerprints: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (keys, fingerprints) of two sorted sequences merged, in chunks of at most 2 x CHUNK.

    :param keys: the state's sorted keys.
    :param fingerprints: their fingerprints.
    :param added: added keys, sorted.
    :param added_fingerprints: their fingerprints.
    """
    i = j = 0
    held, new = len(keys), len(added)
    while i < held or j < new:
        i_end, j_end = min(i + CHUNK, held), min(j + CHUNK, new)
        sides = ((keys, i_end, held), (added, j_end, new))
        bounds = [side[end - 1] for side, end, size in sides if end < size]
        if bounds:
            bound = min(bounds)
            i_end = i + int(np.searchsorted(keys[i:i_end], bound, side="right"))
            j_end = j + int(np.searchsorted(added[j:j_end], bound, side="right"))
        merged_keys = np.concatenate([keys[i:i_end], added[j:j_end]])
        merged_fingerprints = np.concatenate([fingerprints[i:i_end], added_fingerprints[j:j_end]])
        sort = np.argsort(merged_keys, kind="stable")
        yield merged_keys[sort], merged_fingerprints[sort]
        i, j = i_end, j_end


@dataclass
class RowChanges:
    """Per written row: its key, its fingerprint and the fingerprint the state holds (0: none).

    :param keys: order keys.
    :param fingerprints: row fingerprints.
    :param previous: the state's fingerprints for the keys.
    """

    keys: np.ndarray
    fingerprints: np.ndarray
    previous: np.ndarray
    #: A full refresh: every row is written, ``previous`` is kept for the fold.
    send_all: bool = False

    @classmethod
    def of(cls, state: SyncState, ids: pa.Array | None, lines: pa.Array) -> RowChanges:
        """Fingerprint written rows and look them up in ``state``.

        :param state: what the destination holds.
        :param ids: the rows' ``id`` text, or None.
        :param lines: the CSV lines.
        """
        keys, fingerprints = fingerprint_rows(ids, lines)
        return cls(keys, fingerprints, state.previous(keys), state.send_all)

    def to_send(self) -> np.ndarray:
        """Return, per row, True when it differs from what the state holds (so it is written)."""
        if self.send_all:
            return np.ones(len(self.fingerprints), dtype=bool)
        return self.fingerprints != self.previous

    def columns(self, rows: np.ndarray | None = None) -> dict[str, pa.Array]:
        """Return the three as Arrow columns named as in :data:`SENT_SCHEMA`.

        :param rows: a mask of the rows to keep; all when None.
        """
        arrays = (self.keys, self.fingerprints, self.previous)
        return {
            name: pa.array(array if rows is None else array[rows])
            for name, array in zip(SENT_SCHEMA.names, arrays, strict=True)
        }

    @classmethod
    def from_columns(cls, batch: pa.RecordBatch) -> RowChanges:
        """Read the three back from a batch holding :meth:`columns`.

        :param batch: the batch.
        """
        return cls(*(batch.column(name).to_numpy() for name in SENT_SCHEMA.names))


class SentOrders:
    """The key, fingerprint and previous fingerprint of every row written to the parts, on disk.

    :param path: the Arrow IPC stream file to write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: ipc.RecordBatchStreamWriter | None = ipc.new_stream(str(path), SENT_SCHEMA)
        self.new = 0
        self.changed = 0
        self.unchanged = 0

    def select(self, changes: RowChanges) -> np.ndarray:
        """Count rows as new, changed or unchanged, log the ones to send and return them as a mask.

        :param changes: the rows' keys and fingerprints, and the state's.
        """
        send = changes.to_send()
        # 4: sent before but never confirmed, and not held before that (see sync_fold.UNKNOWN_NEW).
        new = (
            (changes.previous == 0) | (changes.previous == _UNKNOWN_NEW) | (changes.previous == _PENDING_NEW)
        )
        self.new += int(new.sum())
        self.changed += int((send & ~new).sum())
        self.unchanged += int((~send).sum())
        if send.any() and self._writer is not None:
            self._writer.write_batch(
                pa.record_batch(list(changes.columns(send).values()), schema=SENT_SCHEMA)
            )
        return send

    def close(self) -> Path:
        """Finish the file and return its path."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.path


def read_sent(source: IO[bytes] | str | Path) -> Iterator[pa.RecordBatch]:
    """Yield the batches of a file written by :class:`SentOrders`.

    :param source: the file, or a binary file object.
    """
    with ipc.open_stream(source if not isinstance(source, Path) else str(source)) as reader:
        yield from reader
