"""Folding one upload's sent orders into a state, by what Metrika did with it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders.sync_fold import (
    FAILED,
    PASSED,
    PENDING,
    PENDING_NEW,
    PENDING_STATUS,
    UNKNOWN,
    UNKNOWN_NEW,
    UNKNOWN_STATUS,
    fold,
    materialise,
)
from airflow_provider_metrika.simple_orders.sync_state import SENT_SCHEMA, Destination, SyncState

HERE = Destination("api-metrika.yandex.net", 1)


def _state(held: dict[int, int]) -> SyncState:
    keys = np.array(sorted(held), dtype=np.uint64)
    values = np.array([held[k] for k in sorted(held)], dtype=np.uint64)
    return SyncState(HERE, ("id",), keys, values)


def _sent(rows: list[tuple[int, int, int]]) -> list[pa.RecordBatch]:
    columns = [pa.array([row[i] for row in rows], pa.uint64()) for i in range(3)]
    return [pa.record_batch(columns, schema=SENT_SCHEMA)]


def _after(held: dict[int, int], rows: list[tuple[int, int, int]], status: str, **kw: bool) -> dict[int, int]:
    state = materialise(fold(_state(held), lambda: iter(_sent(rows)), status, **kw))
    return dict(zip(state.keys.tolist(), state.fingerprints.tolist(), strict=True))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (PASSED, {10: 13, 20: 21, 30: 33}),
        (FAILED, {10: 11, 20: 21}),
        (UNKNOWN_STATUS, {10: int(UNKNOWN), 20: 21, 30: int(UNKNOWN_NEW)}),
    ],
)
def test_an_upload_moves_its_orders_by_its_fate(status: str, expected: dict[int, int]) -> None:
    # Key 10 changed from 11 to 13, key 30 is new.
    assert _after({10: 11, 20: 21}, [(10, 13, 11), (30, 33, 0)], status) == expected


def test_an_order_another_run_changed_meanwhile_becomes_unknown() -> None:
    # This run compared with 11, but the state now holds 15 (another run's): which one Metrika
    # applied last is unknown.
    merged = fold(_state({10: 15}), lambda: iter(_sent([(10, 13, 11)])), PASSED)
    assert merged.conflicts == 1
    assert materialise(merged).fingerprints.tolist() == [int(UNKNOWN)]


def test_an_order_sent_again_after_an_unknown_one_is_held_once_passed() -> None:
    assert _after({10: int(UNKNOWN)}, [(10, 13, int(UNKNOWN))], PASSED) == {10: 13}


def test_a_passed_full_refresh_that_compared_nothing_replaces_every_earlier_value() -> None:
    # A refresh that could not read a state (or one of other columns) sent every order with no
    # previous value: as written before refreshes compared, its orders replace the state.
    assert _after({10: 11, 20: 21}, [(10, 13, 0)], PASSED, rebuild=True) == {10: 13}


def test_a_compared_full_refresh_drops_what_it_did_not_send_and_takes_what_it_sent_by_agreement() -> None:
    # It read 11 for key 10 and sends 13; key 20 is not in its source any more.
    assert _after({10: 11, 20: 21}, [(10, 13, 11)], PASSED, rebuild=True, compared=True) == {10: 13}


def test_a_compared_full_refresh_leaves_unknown_what_a_run_it_overlapped_changed() -> None:
    # Another run's change to key 10 (now 15) was folded before the refresh, which read 11: which
    # of the two Metrika applied last is unknown.
    merged = fold(_state({10: 15}), lambda: iter(_sent([(10, 13, 11)])), PASSED, rebuild=True, compared=True)
    assert merged.conflicts == 1
    assert materialise(merged).fingerprints.tolist() == [int(UNKNOWN)]


def test_an_upload_in_flight_reads_as_pending_and_never_agrees_with_a_later_runs_previous() -> None:
    assert _after({10: 11}, [(10, 13, 11), (30, 33, 0)], PENDING_STATUS) == {
        10: int(PENDING),
        30: int(PENDING_NEW),
    }
    # A later run compared with PENDING (the upload may reach Metrika after it): unknown, not held.
    assert _after({10: int(PENDING)}, [(10, 15, int(PENDING))], PASSED) == {10: int(UNKNOWN)}
    # A settled unknown is a safe base: the order sent again after it is held once PASSED.
    assert _after({10: int(UNKNOWN)}, [(10, 15, int(UNKNOWN))], PASSED) == {10: 15}
