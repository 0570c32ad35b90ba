"""Folding the orders one upload sent into a sync state, by what Metrika did with that upload.

A state keeps, per order key, the fingerprint Metrika is known to hold, or :data:`UNKNOWN` when
Metrika may hold a value this provider cannot name (an upload not confirmed, or two uploads that
changed one order at once): such an order is sent again, which ``SAVE`` and ``UPDATE`` make
harmless. Each sent order carries the value its run compared with (``previous``); a confirmed
upload moves an order to its new fingerprint only when the state still holds that value (or the
new one already), so a concurrent run's change is never taken for this run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import pyarrow as pa

from airflow_provider_metrika.simple_orders.sync_state import MergeResult, RowChanges, SyncState

#: What an upload became: every part PASSED (Metrika holds its rows).
PASSED: Final = "PASSED"
#: Every part FAILED: nothing from it was stored, as if never sent.
FAILED: Final = "FAILED"
#: Not confirmed (not answered, not listed, still validating, or partly FAILED): sent again.
UNKNOWN_STATUS: Final = "UNKNOWN"
#: The fingerprint of an order whose value in Metrika is unknown. Row fingerprints are odd, and 0
#: means "not held": this even value never equals a row's, so the order counts as changed.
UNKNOWN: Final = np.uint64(2)
#: As :data:`UNKNOWN`, for an order Metrika was not known to hold before: it counts as new.
UNKNOWN_NEW: Final = np.uint64(4)


def fold(
    state: SyncState, sent: Callable[[], Iterator[pa.RecordBatch]], status: str, *, rebuild: bool = False
) -> MergeResult:
    """Apply one upload's sent orders to ``state`` (its arrays change); return what to write.

    The orders are read three times (to count, to apply, and for the values of new keys), so that
    memory holds the state plus 16 bytes per new order.

    :param state: the state folded so far.
    :param sent: returns the upload's batches of key, fingerprint and previous, from the start.
    :param status: :data:`PASSED`, :data:`FAILED` or :data:`UNKNOWN_STATUS`.
    :param rebuild: the upload was a full refresh: once PASSED it replaces every earlier value.
    """
    if status == FAILED:
        none = np.zeros(0, dtype=np.uint64)
        return MergeResult(state, none, none.copy(), 0)
    if rebuild and status == PASSED:
        state.fingerprints[:] = 0  # 0 marks a key to drop when the state is written
    added = np.empty(sum(batch.num_rows for batch in sent()), dtype=np.uint64)
    count = conflicts = 0
    for batch in sent():
        rows = RowChanges.from_columns(batch)
        positions, found = state._find(rows.keys)
        held = state._held(positions, found)
        values, disagreed = _values(rows, held, status, rebuild)
        conflicts += disagreed
        state.fingerprints[positions[found]] = values[found]
        new = rows.keys[~found]
        added[count : count + len(new)] = new
        count += len(new)
    added = added[:count]
    added.sort()
    added_values = np.zeros(count, dtype=np.uint64)
    if count:
        for batch in sent():
            rows = RowChanges.from_columns(batch)
            values, _ = _values(rows, np.zeros(len(rows.keys), dtype=np.uint64), status, rebuild)
            positions = np.maximum(np.searchsorted(added, rows.keys, side="right") - 1, 0)
            mine = added[positions] == rows.keys
            added_values[positions[mine]] = values[mine]
    return MergeResult(state, added, added_values, conflicts)


def _values(rows: RowChanges, held: np.ndarray, status: str, rebuild: bool) -> tuple[np.ndarray, int]:
    """Return each sent order's value in the state after the upload, and how many disagreed."""
    if status != PASSED:
        return np.where((held == 0) | (held == UNKNOWN_NEW), UNKNOWN_NEW, UNKNOWN), 0
    if rebuild:
        return rows.fingerprints, 0
    agreed = (held == rows.previous) | (held == rows.fingerprints)
    return np.where(agreed, rows.fingerprints, UNKNOWN), int((~agreed).sum())


def materialise(merged: MergeResult) -> SyncState:
    """Return the state a merge describes, in memory (for folding another upload after it)."""
    from airflow_provider_metrika.simple_orders.sync_state import _merged_chunks

    state = merged.state
    if not len(merged.added_keys) and bool((state.fingerprints != 0).all()):
        return state
    keys: list[np.ndarray] = []
    values: list[np.ndarray] = []
    chunks = _merged_chunks(state.keys, state.fingerprints, merged.added_keys, merged.added_fingerprints)
    for chunk_keys, chunk_values in chunks:
        keep = chunk_values != 0
        keep[:-1] &= chunk_keys[:-1] != chunk_keys[1:]
        keys.append(chunk_keys[keep])
        values.append(chunk_values[keep])
    empty = np.zeros(0, dtype=np.uint64)
    joined_keys = np.concatenate(keys) if keys else empty
    joined_values = np.concatenate(values) if values else empty.copy()
    if len(joined_keys) > 1:
        unique = np.ones(len(joined_keys), dtype=bool)
        unique[:-1] = joined_keys[:-1] != joined_keys[1:]
        joined_keys, joined_values = joined_keys[unique], joined_values[unique]
    return SyncState(state.destination, state.columns, joined_keys, joined_values, state.location)
