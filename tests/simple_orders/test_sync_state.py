"""The sync state of ``changed_only``: fingerprints, what a run writes, and the state's file, for real."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_metrika.simple_orders import PreparedOrders, prepare_simple_orders
from airflow_provider_metrika.simple_orders import sync_state as sync_state_module
from airflow_provider_metrika.simple_orders.bytes_ops import hash64
from airflow_provider_metrika.simple_orders.sync_state import (
    SENT_SCHEMA,
    Destination,
    SyncState,
    SyncStateError,
    fingerprint_rows,
    read_sent,
)
from tests.simple_orders.helpers import part_rows, prepare_text

HERE = Destination("api-metrika.yandex.net", 12345)
HEADER = "id,create_date_time,emails,order_status,revenue\n"
FIRST = {
    "o-1": "o-1,2024-01-10 10:00:00,a@example.com,PAID,100",
    "o-2": "o-2,2024-01-10 11:00:00,b@example.com,IN_PROGRESS,200",
    "o-3": "o-3,2024-01-10 12:00:00,c@example.com,PAID,300",
    "": ",2024-01-10 13:00:00,d@example.com,PAID,400",
}


def _csv(rows: dict[str, str] | list[str]) -> str:
    return HEADER + "".join(f"{row}\n" for row in (rows.values() if isinstance(rows, dict) else rows))


def _sync(text: str, workdir: Path, state_file: Path, **options: object) -> tuple[PreparedOrders, SyncState]:
    """Prepare against the stored state (empty when missing), then commit as after acceptance."""
    state = (
        SyncState.read(state_file, HERE, str(state_file)) if state_file.exists() else SyncState.empty(HERE)
    )
    prepared = prepare_text(text, workdir, now=None, sync_state=state, **options)
    sent = prepared.sent_orders
    assert sent is not None
    current = SyncState.read(state_file, HERE, "s") if state_file.exists() else SyncState.empty(HERE)
    with state_file.open("wb") as out:
        current.apply(lambda: read_sent(sent)).write(out, prepared.report.columns)
    return prepared, SyncState.read(state_file, HERE, "s")


def test_the_hash_covers_every_byte_of_long_strings() -> None:
    long = "x" * 150 + "PAID" + "y" * 150
    changed = "x" * 150 + "SPAM" + "y" * 150
    hashes = hash64(pa.array([long, changed, long, "", "a" * 513, "a" * 512 + "b"]))

    assert hashes[0] == hashes[2]
    assert hashes[0] != hashes[1], "a change in the middle of a 300-byte row is seen"
    assert len(set(hashes.tolist())) == 5
    assert hash64(pa.array(["same"]), seed=1)[0] != hash64(pa.array(["same"]), seed=2)[0]


def test_an_id_keys_its_row_and_any_change_of_the_written_row_changes_the_fingerprint() -> None:
    lines = pa.array(["o-1,PAID,100\n", "o-1,PAID,101\n", ",PAID,100\n", ",PAID,100\n"])
    ids = pa.array(["o-1", "o-1", "", ""])

    keys, fingerprints = fingerprint_rows(ids, lines)

    assert keys[0] == keys[1]
    assert fingerprints[0] != fingerprints[1]
    assert keys[2] == keys[3], "rows without id are keyed by their content"
    assert keys[2] != keys[0]
    assert (fingerprints != 0).all()


def test_a_second_run_writes_only_new_and_changed_rows_and_counts_the_rest(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    first, state = _sync(_csv(FIRST), tmp_path / "1", state_file)
    assert (first.report.orders_new, first.report.rows_written) == (4, 4)
    assert state.orders == 4

    second_rows = {**FIRST, "o-2": "o-2,2024-01-10 11:00:00,b@example.com,CANCELLED,200"}
    second_rows["o-4"] = "o-4,2024-01-11 09:00:00,e@example.com,PAID,50"
    second, state = _sync(_csv(second_rows), tmp_path / "2", state_file)

    report = second.report
    assert (report.orders_new, report.orders_changed, report.orders_unchanged) == (1, 1, 3)
    assert report.rows_read == report.rows_written + report.rows_rejected + report.orders_unchanged
    assert [row[0] for row in part_rows(second)[1:]] == ["o-2", "o-4"]
    assert part_rows(second)[1][3] == "CANCELLED"
    assert state.orders == 5
    assert "unchanged (skipped)  3" in report.as_text()


def test_an_unchanged_input_writes_no_part(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "1", state_file)

    again, state = _sync(_csv(FIRST), tmp_path / "2", state_file)

    assert again.parts == []
    assert again.report.orders_unchanged == 4
    assert state.orders == 4


def test_orders_absent_from_a_run_stay_in_the_state(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "1", state_file)

    _, state = _sync(_csv([FIRST["o-1"]]), tmp_path / "2", state_file)
    back, _ = _sync(_csv(FIRST), tmp_path / "3", state_file)

    assert state.orders == 4
    assert back.parts == [], "orders that came back unchanged are not sent again"


def test_keep_last_counts_a_replaced_row_once(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "1", state_file)
    repeated = [FIRST["o-1"], "o-1,2024-01-10 10:00:00,a@example.com,CANCELLED,100", FIRST["o-1"]]

    again, _ = _sync(_csv(repeated), tmp_path / "2", state_file, duplicates="keep_last")

    report = again.report
    assert (report.duplicates_dropped, report.orders_unchanged, report.rows_written) == (2, 1, 0)
    assert report.rows_read == report.rows_written + report.duplicates_dropped + report.orders_unchanged


def test_a_commit_keeps_another_runs_changes_and_drops_orders_both_changed_differently(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "0", state_file)
    base = SyncState.read(state_file, HERE, "s")
    # Two runs read the same state; each changes o-2 differently, and one order of its own.
    run_a = {**FIRST, "o-1": FIRST["o-1"].replace("100", "111"), "o-2": FIRST["o-2"].replace("200", "222")}
    run_b = {**FIRST, "o-3": FIRST["o-3"].replace("300", "333"), "o-2": FIRST["o-2"].replace("200", "299")}
    sent_a = prepare_text(_csv(run_a), tmp_path / "a", sync_state=base).sent_orders
    sent_b = prepare_text(_csv(run_b), tmp_path / "b", sync_state=base).sent_orders
    columns = ["id", "create_date_time", "emails", "order_status", "revenue"]

    conflicts = []
    for sent in (sent_a, sent_b):
        assert sent is not None
        merged = SyncState.read(state_file, HERE, "s").apply(partial(read_sent, sent))
        with state_file.open("wb") as out:
            merged.write(out, columns)
        conflicts.append(merged.conflicts)
    assert conflicts == [0, 1], "B's o-2 met A's: dropped"

    after_a = prepare_text(
        _csv(run_a), tmp_path / "check-a", sync_state=SyncState.read(state_file, HERE, "s")
    )
    sent_again = [row[0] for row in part_rows(after_a)[1:]]
    # o-1 (only A) is known; o-3 differs because B's value is held; o-2 is unknown, so sent again.
    assert sent_again == ["o-2", "o-3"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merging_in_small_chunks_matches_a_plain_merge(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(sync_state_module, "CHUNK", 7)
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(1, 1 << 40, 200, dtype=np.uint64))
    state = SyncState(HERE, None, keys, rng.integers(1, 1 << 60, len(keys), dtype=np.uint64))
    expected = dict(zip(keys.tolist(), state.fingerprints.tolist(), strict=True))
    sent_keys = np.concatenate([keys[:30], rng.integers(1, 1 << 40, 90, dtype=np.uint64)])
    sent_keys = np.concatenate([sent_keys, sent_keys[-5:]])  # identical rows without id repeat
    sent_fingerprints = rng.integers(1, 1 << 60, len(sent_keys), dtype=np.uint64)
    sent_fingerprints[-5:] = sent_fingerprints[-10:-5]
    previous = state.previous(sent_keys)
    for key, fingerprint in zip(sent_keys.tolist(), sent_fingerprints.tolist(), strict=True):
        expected[key] = fingerprint
    batch = pa.record_batch(
        [pa.array(sent_keys), pa.array(sent_fingerprints), pa.array(previous)], schema=SENT_SCHEMA
    )

    merged = state.apply(lambda: iter([batch]))
    out = pa.BufferOutputStream()
    written = merged.write(out, ["id"])
    table = pq.read_table(pa.BufferReader(out.getvalue()))

    assert written == len(expected) == table.num_rows
    assert table.column("key").to_pylist() == sorted(expected)
    assert table.column("fingerprint").to_pylist() == [expected[key] for key in sorted(expected)]


def test_a_state_for_another_destination_or_columns_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "1", state_file)

    with pytest.raises(SyncStateError, match=r"written for counter 12345 at api-metrika.yandex.net.*67890"):
        SyncState.read(state_file, Destination("api-metrika.yandex.net", 67890), str(state_file))
    with pytest.raises(SyncStateError, match=r"written for counter 12345 at api-metrika\.yandex\.net"):
        SyncState.read(state_file, Destination("127.0.0.1:8080", 12345), str(state_file))
    state = SyncState.read(state_file, HERE, str(state_file))
    with pytest.raises(SyncStateError, match=r"columns .* but this run writes .*full_refresh=True"):
        prepare_text(_csv(FIRST).replace(",revenue", ",cost"), tmp_path / "2", sync_state=state)


def test_a_file_that_is_no_state_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"key": pa.array([2, 1], pa.uint64())}), other)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")

    with pytest.raises(SyncStateError, match="is not a sync state of this provider"):
        SyncState.read(other, HERE, "other.parquet")
    with pytest.raises(SyncStateError, match="is not a readable Parquet file"):
        SyncState.read(garbage, HERE, "garbage.parquet")


def test_a_state_takes_16_bytes_per_order_in_memory(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _, state = _sync(_csv(FIRST), tmp_path / "1", state_file)

    assert state.nbytes == 16 * state.orders


def test_a_dataframe_and_batches_from_a_query_compare_the_same_as_a_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.parquet"
    _sync(_csv(FIRST), tmp_path / "1", state_file)
    state = SyncState.read(state_file, HERE, "s")
    frame = pd.read_csv(io.StringIO(_csv(FIRST)), dtype=str, keep_default_na=False)
    frame.loc[0, "revenue"] = "101"
    batches = [pa.RecordBatch.from_pandas(frame.iloc[:2]), pa.RecordBatch.from_pandas(frame.iloc[2:])]

    for name, data in (("frame", frame), ("batches", iter(batches))):
        result = prepare_simple_orders(data, tmp_path / name, timezone="Europe/Moscow", sync_state=state)
        report = result.report
        assert (report.orders_changed, report.orders_unchanged, report.rows_written) == (1, 3, 1), name
