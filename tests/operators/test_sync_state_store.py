"""The sync state store on an object store other than local disk (fsspec's in-memory filesystem)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_provider_metrika.simple_orders.sync_state import Destination
from airflow_provider_metrika.sync.changes import write_receipt, write_rows
from airflow_provider_metrika.sync.store import (
    commit_state,
    compact,
    load_state,
    state_location,
)
from tests.simple_orders.helpers import prepare_text

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

HERE = Destination("api-metrika.yandex.net", 12345)
ORDERS = (
    "id,create_date_time,emails,revenue\n"
    "o-1,2024-01-10 10:00:00,a@example.com,100\n"
    "o-2,2024-01-10 11:00:00,b@example.com,200\n"
)
CHANGED = ORDERS.replace(",200", ",250")
COLUMNS = ["id", "create_date_time", "emails", "revenue"]


def test_a_state_in_object_storage_is_written_whole_read_back_and_updated(tmp_path: Path) -> None:
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())  # as a provider registers s3:// or gs://
    base = f"memory://metrika-state-{uuid.uuid4().hex[:8]}/daily/"
    location = state_location(base, HERE)
    assert location.name == "metrika-simple-orders-api-metrika.yandex.net-12345.parquet"
    assert load_state(location, HERE).orders == 0, "no state yet: every order is new"

    first = prepare_text(ORDERS, tmp_path / "1", sync_state=load_state(location, HERE))
    assert first.sent_orders is not None
    saved = commit_state(location, HERE, first.sent_orders, first.report.columns, rebuild=False)

    assert (saved.orders, saved.conflicts) == (2, 0)
    assert saved.bytes == location.stat().st_size
    assert not [path.name for path in location.parent.iterdir() if path.name.endswith(".tmp")], (
        "no temporary file left"
    )

    changed = prepare_text(
        ORDERS.replace(",200", ",250"), tmp_path / "2", sync_state=load_state(location, HERE)
    )
    assert (changed.report.orders_changed, changed.report.orders_unchanged) == (1, 1)
    assert changed.sent_orders is not None
    saved = commit_state(location, HERE, changed.sent_orders, changed.report.columns, rebuild=False)

    again = prepare_text(
        ORDERS.replace(",200", ",250"), tmp_path / "3", sync_state=load_state(location, HERE)
    )
    assert (saved.orders, again.parts, again.report.orders_unchanged) == (2, [], 2)


def _memory_location() -> ObjectStoragePath:
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())
    return state_location(f"memory://metrika-state-{uuid.uuid4().hex[:8]}/", HERE)


def _orders(values: dict[str, int]) -> str:
    lines = [f"{key},2024-01-10 10:00:00,{key}@example.com,{value}" for key, value in values.items()]
    return "id,create_date_time,emails,revenue\n" + "".join(f"{line}\n" for line in lines)


def _held(location: ObjectStoragePath, values: dict[str, int], workdir: Path) -> None:
    """Send what differs from the state and record it as validated (what a direct caller does)."""
    prepared = prepare_text(_orders(values), workdir, sync_state=load_state(location, HERE))
    assert prepared.sent_orders is not None
    commit_state(location, HERE, prepared.sent_orders, prepared.report.columns, rebuild=False)


def _to_send(location: ObjectStoragePath, values: dict[str, int], workdir: Path, find: Any = None) -> int:
    prepared = prepare_text(_orders(values), workdir, sync_state=load_state(location, HERE, find))
    return prepared.report.rows_written


def test_ten_concurrent_commits_on_one_state_all_keep_their_records(tmp_path: Path) -> None:
    location = _memory_location()
    base = {f"o-{n}": 100 for n in range(10)}
    _held(location, base, tmp_path / "b")
    # Ten runs read the same state, each changes its own order, and all commit, compactions interleaved.
    prepared = []
    for n in range(10):
        changed = {**base, f"o-{n}": 200 + n}
        prepared.append(
            prepare_text(_orders(changed), tmp_path / f"r{n}", sync_state=load_state(location, HERE))
        )
    for n, run in enumerate(prepared):
        assert run.sent_orders is not None
        assert run.report.rows_written == 1
        name = write_rows(location, run.sent_orders, COLUMNS, rebuild=False)
        write_receipt(location, name, "PASSED")
        if n % 3 == 0:
            compact(location, HERE, COLUMNS)

    final = {**base, **{f"o-{n}": 200 + n for n in range(10)}}
    assert _to_send(location, final, tmp_path / "check") == 0, "every run's change is held"
    compact(location, HERE, COLUMNS)
    assert _to_send(location, final, tmp_path / "check2") == 0, "and still after a compaction"


def test_two_runs_that_changed_one_order_differently_leave_it_to_be_sent_again(tmp_path: Path) -> None:
    location = _memory_location()
    base = {"o-1": 100, "o-2": 100}
    _held(location, base, tmp_path / "b")
    a = prepare_text(_orders({**base, "o-1": 111}), tmp_path / "a", sync_state=load_state(location, HERE))
    b = prepare_text(_orders({**base, "o-1": 122}), tmp_path / "c", sync_state=load_state(location, HERE))
    for run in (a, b):
        assert run.sent_orders is not None
        write_receipt(location, write_rows(location, run.sent_orders, COLUMNS, rebuild=False), "PASSED")

    saved = compact(location, HERE, COLUMNS)

    assert saved.conflicts == 1
    assert _to_send(location, {**base, "o-1": 122}, tmp_path / "d") == 1, "o-1 is sent again"
    assert _to_send(location, {**base, "o-1": 111}, tmp_path / "e") == 1, "whichever value it has"


def test_an_unconfirmed_upload_is_resolved_by_metrikas_statuses(tmp_path: Path) -> None:
    location = _memory_location()
    base = {"o-1": 100, "o-2": 100}
    _held(location, base, tmp_path / "b")
    changed = {"o-1": 999, "o-2": 100}
    for status, expected_after_revert, expected_same in (("PASSED", 1, 0), ("FAILED", 0, 1), (None, 1, 1)):
        run = prepare_text(_orders(changed), tmp_path / f"s{status}", sync_state=load_state(location, HERE))
        assert run.sent_orders is not None
        assert run.report.rows_written == 1
        name = write_rows(location, run.sent_orders, COLUMNS, rebuild=False)
        write_receipt(location, name, "ACCEPTED", {f"u-{status}": "2024-01-10T10:00:00Z"})
        listed = {} if status is None else {f"u-{status}": {"api_validation_status": status}}

        def find(ids: list[str], since: str | None, listed: dict[str, Any] = listed) -> dict[str, Any]:
            return {i: listed[i] for i in ids if i in listed}

        # A revert to 100 is sent unless Metrika is known to hold 100; the change is sent unless held.
        assert _to_send(location, base, tmp_path / f"r{status}", find) == expected_after_revert, status
        assert _to_send(location, changed, tmp_path / f"c{status}", find) == expected_same, status
        # Leave the state where it was for the next case: Metrika holds 100 again.
        revert = prepare_text(_orders(base), tmp_path / f"v{status}", sync_state=load_state(location, HERE))
        if revert.sent_orders is not None and revert.report.rows_written:
            commit_state(location, HERE, revert.sent_orders, COLUMNS, rebuild=False)
        if status is None:
            # The uploading is still not listed: it may reach Metrika after the revert did, so the
            # revert's value is not taken as held either, and o-1 is sent again.
            assert _to_send(location, base, tmp_path / "last", find) == 1


def test_a_state_file_of_the_first_format_is_read(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    location = _memory_location()
    metadata = {
        b"metrika_sync_state": json.dumps(
            {
                "format": "metrika-simple-orders-sync/1",
                "api": HERE.api,
                "counter": HERE.counter,
                "columns": [],
            }
        ).encode()
    }
    table = pa.table({"key": pa.array([1, 5], pa.uint64()), "fingerprint": pa.array([3, 7], pa.uint64())})
    location.parent.mkdir(parents=True, exist_ok=True)
    with location.open("wb") as out:
        pq.write_table(table.replace_schema_metadata(metadata), out)

    state = load_state(location, HERE)

    assert (state.orders, list(state.previous(np.array([1, 5, 9], dtype=np.uint64)))) == (2, [3, 7, 0])


def test_an_earlier_tries_unconfirmed_upload_is_over_for_a_later_try_not_for_another_task(
    tmp_path: Path,
) -> None:
    location = _memory_location()
    base = {"o-1": 100, "o-2": 100}
    _held(location, base, tmp_path / "b")
    changed = {"o-1": 111, "o-2": 100}
    run = prepare_text(_orders(changed), tmp_path / "t1", sync_state=load_state(location, HERE))
    assert run.sent_orders is not None
    # Try 1 of a task instance recorded its orders, then failed before any receipt.
    write_rows(location, run.sent_orders, COLUMNS, rebuild=False, owner="dag\nrun\nsync\n-1")

    elsewhere = load_state(location, HERE, over="dag\nrun\nother_task\n-1")
    later_try = load_state(location, HERE, over="dag\nrun\nsync\n-1")

    key = elsewhere.keys[elsewhere.fingerprints == 6]  # sync_fold.PENDING: o-1, in flight for it
    assert len(key) == 1
    assert elsewhere.resolution.rows["PENDING"] == 1, "another task cannot know the try is over"
    assert later_try.resolution.rows["UNKNOWN"] == 1, "a later try of the same task instance can"
    assert np.isin(later_try.previous(key), [2, 4]).all()
    assert load_state(location, HERE).resolution.rows["UNKNOWN"] == 1, "recorded for every reader"
