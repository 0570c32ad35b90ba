"""Folding the orders one upload sent into a sync state, by what Metrika did with that upload.

A state keeps, per order key, the fingerprint Metrika is known to hold, or :data:`UNKNOWN` when
Metrika may hold a value this provider cannot name (an upload not confirmed, or two uploads that
changed one order at once): such an order is sent again, which ``SAVE`` and ``UPDATE`` make
harmless. Each sent order carries the value its run compared with (``previous``); a confirmed
upload moves an order to its new fingerprint only when the state still holds that value (or the
new one already), so a concurrent run's change is never taken for this run's, in whichever order
Metrika applied the two. A full refresh compares too (it reads the state for ``previous``, and
sends every order whatever it holds): once PASSED it drops every order it did not send, and takes
the ones it sent by the same rule, so a normal run that overlapped it leaves those orders unknown.

An order that an upload still in flight sent (no final receipt yet) reads as :data:`PENDING`: a
later run's ``previous`` of :data:`PENDING` never agrees, as that upload may reach Metrika after
the later one.
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
#: A reader's status of an upload still in flight (no final receipt): it may still be applied.
PENDING_STATUS: Final = "PENDING"
#: The fingerprint of an order an upload in flight sent: unknown, and it may change again.
PENDING: Final = np.uint64(6)
#: As :data:`PENDING`, for an order Metrika was not known to hold before: it counts as new.
PENDING_NEW: Final = np.uint64(8)
#: Values under which an order counts as new (Metrika was not known to hold it).
NEW_VALUES: Final = (np.uint64(0), UNKNOWN_NEW, PENDING_NEW)


def fold(
    state: SyncState,
    sent: Callable[[], Iterator[pa.RecordBatch]],
    status: str,
    *,
    rebuild: bool = False,
    compared: bool = False,
) -> MergeResult:
    """Apply one upload's sent orders to ``state`` (its arrays change); return what to write.

    The orders are read three times (to count, to apply, and for the values of new keys), so that
    memory holds the state plus 16 bytes per new order.

    :param state: the state folded so far.
    :param sent: returns the upload's batches of key, fingerprint and previous, from the start.
    :param status: :data:`PASSED`, :data:`FAILED`, :data:`UNKNOWN_STATUS` or (a reader's, for an
        upload in flight) :data:`PENDING_STATUS`.
    :param rebuild: the upload was a full refresh: once PASSED it drops every order it did not send.
    :param compared: a full refresh's ``previous`` values came from the state (False: it could not
        read one, or one of other columns, and its orders replace every earlier value as sent).
    """
    if status == FAILED:
        none = np.zeros(0, dtype=np.uint64)
        return MergeResult(state, none, none.copy(), 0)
    held_before = state.fingerprints
    if rebuild and status == PASSED:
        held_before = state.fingerprints.copy()
        state.fingerprints[:] = 0  # 0 marks a key to drop when the state is written
    added = np.empty(sum(batch.num_rows for batch in sent()), dtype=np.uint64)
    count = conflicts = 0
    for batch in sent():
        rows = RowChanges.from_columns(batch)
        positions, found = state._find(rows.keys)
        held = (
            np.where(found, held_before[positions], np.uint64(0))
            if state.orders
            else np.zeros(len(found), np.uint64)
        )
        values, disagreed = _values(rows, held, status, rebuild and not compared)
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
            values, _ = _values(
                rows, np.zeros(len(rows.keys), dtype=np.uint64), status, rebuild and not compared
            )
            positions = np.maximum(np.searchsorted(added, rows.keys, side="right") - 1, 0)
            mine = added[positions] == rows.keys
            added_values[positions[mine]] = values[mine]
    return MergeResult(state, added, added_values, conflicts)


def _values(rows: RowChanges, held: np.ndarray, status: str, unconditional: bool) -> tuple[np.ndarray, int]:
    """Return each sent order's value in the state after the upload, and how many disagreed."""
    new = np.isin(held, NEW_VALUES)
    if status == PENDING_STATUS:
        return np.where(new, PENDING_NEW, PENDING), 0
    if status != PASSED:
        return np.where(new, UNKNOWN_NEW, UNKNOWN), 0
    if unconditional:
        return rows.fingerprints, 0
    in_flight = (rows.previous == PENDING) | (rows.previous == PENDING_NEW)
    agreed = ((held == rows.previous) & ~in_flight) | (held == rows.fingerprints)
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
