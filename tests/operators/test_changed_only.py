"""``changed_only=True`` under real Airflow runs: what each run sends, and when the state moves."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.simple_orders.sync_fold import PENDING, PENDING_NEW, UNKNOWN, UNKNOWN_NEW
from airflow_provider_metrika.simple_orders.sync_state import Destination, fingerprint_rows
from airflow_provider_metrika.storage import storage_path
from airflow_provider_metrika.sync.store import load_state
from tests.airflow_cli import MetadataDb, airflow_env, run_airflow
from tests.conftest import (
    COUNTER,
    OTHER_COUNTER,
    WAREHOUSE_ROWS,
    documented_connection,
    make_warehouse,
)
from tests.operators.sync_runs import orders_file, run_sync

FIRST = [
    "o-1,2026-11-20 10:00:00,a@example.com,PAID,100",
    "o-2,2026-11-20 11:00:00,b@example.com,IN_PROGRESS,200",
    "o-3,2026-11-20 12:00:00,c@example.com,PAID,300",
    ",2026-11-20 13:00:00,d@example.com,PAID,400",
]
#: o-2 paid, o-4 new; the rest as before.
SECOND = [
    FIRST[0],
    FIRST[1].replace("IN_PROGRESS", "PAID"),
    FIRST[2],
    FIRST[3],
    "o-4,2026-11-21 09:00:00,e@example.com,IN_PROGRESS,50",
]


def _sent_counts(metrika: EmulatorClient, counter: int = COUNTER) -> list[int]:
    """Orders per uploading, oldest first."""
    return [u["elements_count"] for u in reversed(metrika.uploadings(counter))]


def _state_files(state_dir: Path) -> list[Path]:
    return sorted(path for path in state_dir.glob("*") if path.is_file())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _held(state_file: Path, conn_id: str, scratch: Path) -> dict[int, int]:
    """Return what a state says Metrika holds, by order key, as the next run reads it.

    That is the state file and the change records beside it, accepted uploads looked up in Metrika's
    list; read from a copy, so the receipts the lookup writes leave the next run's records as they were.
    """
    copy = scratch / f"held-{len(list(scratch.glob('held-*')))}"
    shutil.copytree(state_file.parent, copy)
    hook = MetrikaHook(conn_id)

    def find(ids: list[str], since: str | None) -> dict[str, Any]:
        return hook.find_uploadings(COUNTER, ids, not_before=since)

    about = json.loads(pq.read_schema(state_file).metadata[b"metrika_sync_state"])
    destination = Destination(about["api"], int(about["counter"]))
    state = load_state(storage_path(str(copy / state_file.name)), destination, find)
    return dict(zip(state.keys.tolist(), state.fingerprints.tolist(), strict=True))


def _assert_the_state_did_not_move(before: dict[int, int], after: dict[int, int]) -> None:
    """Check that no order holds a value Metrika did not confirm.

    Each order keeps what it held or is unknown (sent again next time); SECOND's changed and new
    orders (o-2, o-4) are unknown, or pending while the failed run's upload is younger than the
    hour after which a silent run counts as over (to another task: its own retry knows it is over),
    never their new values.
    """
    keys, _ = fingerprint_rows(pa.array(["o-2", "o-4"]), pa.array(["", ""]))
    changed, new = keys.tolist()
    # Held by Metrika before or not, over or in flight: sent again either way.
    unknown = {int(UNKNOWN), int(UNKNOWN_NEW), int(PENDING), int(PENDING_NEW)}
    assert after[changed] in unknown
    assert after[new] in {int(UNKNOWN_NEW), int(PENDING_NEW)}
    assert len(before) == len(FIRST)
    assert len(after) == len(FIRST) + 1
    for key, value in after.items():
        assert value == before[key] or value in unknown if key in before else value in unknown, key


def test_a_second_run_sends_only_new_and_changed_orders_and_a_third_sends_nothing(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    first = orders_file(tmp_path, "first.csv", FIRST)
    second = orders_file(tmp_path, "second.csv", SECOND)

    state, counts, output = run_sync(sync_env, "test_metrika_sync", first, state_dir)
    assert state == "success", output
    assert counts is not None
    assert (counts["new"], counts["sent"], counts["state_orders"]) == (4, 4, 4)
    [state_file] = _state_files(state_dir)
    assert (
        state_file.name
        == f"metrika-simple-orders-127.0.0.1_{metrika.base_url.rsplit(':', 1)[1]}-{COUNTER}.parquet"
    )

    state, counts, output = run_sync(sync_env, "test_metrika_sync", second, state_dir)
    assert state == "success", output
    assert counts is not None
    assert (counts["new"], counts["changed"], counts["unchanged"], counts["sent"]) == (1, 1, 3, 2)
    assert _sent_counts(metrika) == [4, 2]
    held = metrika.orders(COUNTER)
    assert held["applied_counts"] == {"o-1": 1, "o-2": 2, "o-3": 1, "o-4": 1}
    assert held["orders"]["o-2"]["order_status"] == "PAID"
    assert len(held["orders_without_id"]) == 1, "the row without id was sent once"
    assert "unchanged (skipped)  3" in output
    assert "unchanged                 3  (skipped)" in output

    state, counts, output = run_sync(sync_env, "test_metrika_sync", second, state_dir)
    assert state == "success", output
    assert counts is not None
    assert (counts["unchanged"], counts["sent"]) == (5, 0)
    assert _sent_counts(metrika) == [4, 2], "nothing changed: nothing sent"
    assert "Nothing new or changed since the last sync: 5 orders unchanged" in output


def test_the_asset_event_carries_the_counts(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state, _, output = run_sync(
        sync_env, "test_metrika_sync", orders_file(tmp_path, "o.csv", FIRST), tmp_path / "s"
    )
    assert state == "success", output

    with sqlite3.connect(Path(sync_env["AIRFLOW_HOME"]) / "airflow.db") as conn:
        (extra,) = conn.execute(
            "SELECT e.extra FROM asset_event e JOIN asset a ON e.asset_id = a.id WHERE a.uri = ? "
            "ORDER BY e.id DESC LIMIT 1",
            ("metrika://counter/12345/synced_orders",),
        ).fetchone()
    assert {key: json.loads(extra)[key] for key in ("new", "changed", "unchanged", "sent")} == {
        "new": 4,
        "changed": 0,
        "unchanged": 0,
        "sent": 4,
    }


def test_the_openlineage_output_carries_the_counts(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    events = tmp_path / "openlineage.jsonl"
    env = {
        **sync_env,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
    }
    orders = orders_file(tmp_path, "o.csv", FIRST)
    assert run_sync(env, "test_metrika_sync", orders, tmp_path / "s")[0] == "success"

    complete = [
        json.loads(line)
        for line in events.read_text().splitlines()
        if json.loads(line)["eventType"] == "COMPLETE" and json.loads(line)["job"]["name"].endswith(".sync")
    ]
    [output] = complete[-1]["outputs"]
    assert output["name"] == f"counter/{COUNTER}/simple_orders"
    facet = output["facets"]["metrikaSync"]
    assert (facet["sent"], facet["new"], facet["changed"], facet["unchanged"], facet["stateOrders"]) == (
        4,
        4,
        0,
        0,
        4,
    )


def test_a_failed_upload_leaves_the_state_and_the_next_run_sends_the_changes(
    sync_env: dict[str, str], metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    assert (
        run_sync(sync_env, "test_metrika_sync", orders_file(tmp_path, "a.csv", FIRST), state_dir)[0]
        == "success"
    )
    [state_file] = _state_files(state_dir)
    before, held_before = _digest(state_file), _held(state_file, metrika_conn, tmp_path)
    second = orders_file(tmp_path, "b.csv", SECOND)
    metrika.inject_faults({"target": "upload", "status": 400, "times": 1})

    state, counts, output = run_sync(sync_env, "test_metrika_sync", second, state_dir)

    assert state == "failed", output
    assert _digest(state_file) == before, "the state file was not rewritten"
    _assert_the_state_did_not_move(held_before, _held(state_file, metrika_conn, tmp_path))
    assert _state_files(state_dir) == [state_file], "no temporary file is left behind"

    state, counts, output = run_sync(sync_env, "test_metrika_sync", second, state_dir)
    assert state == "success", output
    assert counts is not None
    assert (counts["new"], counts["changed"], counts["sent"]) == (1, 1, 2)
    assert metrika.orders(COUNTER)["orders"]["o-2"]["order_status"] == "PAID"


def test_a_killed_run_leaves_the_state_and_the_next_run_sends_the_changes(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    assert (
        run_sync(sync_env, "test_metrika_sync", orders_file(tmp_path, "a.csv", FIRST), state_dir)[0]
        == "success"
    )
    [state_file] = _state_files(state_dir)
    before = _digest(state_file)
    second = orders_file(tmp_path, "b.csv", SECOND)
    # The upload is stored, and its answer held back: the task is killed while it waits.
    metrika.inject_faults({"target": "upload", "drop": "after", "hold": True, "delay": 240})
    conf = json.dumps({"orders_uri": second, "sync_state": str(state_dir)})
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", "test_metrika_sync", "-c", conf],
        # The killed run cannot remove its parts folder: it is left in this test's own directory.
        env={**sync_env, "TMPDIR": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        metrika.wait_until_held(1, timeout=240)  # the second upload, stored, its answer not sent
        assert process.poll() is None, "the run ended before it was killed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        metrika.release()

    assert _digest(state_file) == before, "a killed run leaves the old state"
    state, counts, output = run_sync(sync_env, "test_metrika_sync", second, state_dir)
    assert state == "success", output
    assert counts is not None
    assert counts["sent"] == 2, "what was not confirmed is sent again"
    assert metrika.orders(COUNTER)["orders"]["o-2"]["order_status"] == "PAID"


def test_full_refresh_sends_every_order_and_rebuilds_the_state(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    orders = orders_file(tmp_path, "a.csv", FIRST)
    assert run_sync(sync_env, "test_metrika_sync", orders, state_dir)[0] == "success"

    state, counts, output = run_sync(sync_env, "test_metrika_sync", orders, state_dir, full_refresh=True)

    assert state == "success", output
    assert counts is not None
    assert (counts["sent"], counts["state_orders"], counts["full_refresh"]) == (
        4,
        4,
        True,
    )
    assert _sent_counts(metrika) == [4, 4]
    assert "full_refresh: every order is sent" in output


def test_a_state_written_for_another_counter_is_refused_before_any_upload(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    orders = orders_file(tmp_path, "a.csv", FIRST)
    assert run_sync(sync_env, "test_metrika_sync", orders, state_dir)[0] == "success"
    [state_file] = _state_files(state_dir)
    state_file.rename(state_dir / state_file.name.replace(str(COUNTER), str(OTHER_COUNTER)))

    state, _, output = run_sync(sync_env, "test_metrika_sync", orders, state_dir, counter_id=OTHER_COUNTER)

    assert state == "failed", output
    assert "MetrikaSyncStateError" in output
    assert f"was written for counter {COUNTER} at 127.0.0.1" in output
    assert "full_refresh=True" in output
    assert metrika.uploadings(OTHER_COUNTER) == []


def test_a_deferred_wait_moves_the_state_only_after_metrika_validated(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    metrika.configure(status_delay=3.0)

    state, counts, output = run_sync(
        sync_env, "test_metrika_sync_validated", orders_file(tmp_path, "a.csv", FIRST), state_dir
    )

    assert state == "success", output
    assert "deferred" in output.lower()
    assert counts is not None
    assert (counts["sent"], counts["state_orders"]) == (4, 4)
    assert [path.suffix for path in _state_files(state_dir)] == [".parquet"], "no temporary file is left"
    assert output.index("all PASSED") < output.index("now tracks 4 orders")


def test_a_wait_that_times_out_leaves_the_held_values_and_marks_the_sent_orders_unknown(
    sync_env: dict[str, str], metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    orders = orders_file(tmp_path, "a.csv", FIRST)
    assert run_sync(sync_env, "test_metrika_sync", orders, state_dir)[0] == "success"
    [state_file] = _state_files(state_dir)
    before, held_before = _digest(state_file), _held(state_file, metrika_conn, tmp_path)
    metrika.configure(status_delay=30.0)  # validation outlasts the task's 3 s timeout

    state, _, output = run_sync(
        sync_env, "test_metrika_sync_validation_timeout", orders_file(tmp_path, "b.csv", SECOND), state_dir
    )

    assert state == "failed", output
    assert "MetrikaUploadingTimeoutError" in output
    assert _digest(state_file) == before, "the state file was not rewritten"
    # Still validating in Metrika's list: the orders sent stay unknown until it says what became of them.
    _assert_the_state_did_not_move(held_before, _held(state_file, metrika_conn, tmp_path))
    assert _state_files(state_dir) == [state_file], "no temporary file is left"


def test_sync_arguments_that_do_not_go_together_are_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="changed_only=True needs sync_state="):
        SimpleOrdersUploadOperator(task_id="t", path="/a.csv", changed_only=True)
    with pytest.raises(MetrikaInvalidArgumentError, match="sync_state= is used only with changed_only"):
        SimpleOrdersUploadOperator(task_id="t", path="/a.csv", sync_state="/s")
    with pytest.raises(MetrikaInvalidArgumentError, match="full_refresh=True rebuilds"):
        SimpleOrdersUploadOperator(task_id="t", path="/a.csv", full_refresh=True)
    with pytest.raises(MetrikaInvalidArgumentError, match="merge_mode=APPEND"):
        SimpleOrdersUploadOperator(
            task_id="t", path="/a.csv", changed_only=True, sync_state="/s", merge_mode="APPEND"
        )


def test_the_example_daily_sync_sends_only_the_rows_changed_between_two_runs(
    airflow_home: Path, metrika: EmulatorClient, tmp_path: Path
) -> None:
    warehouse = make_warehouse(tmp_path / "orders.db")
    env = airflow_env(
        airflow_home,
        AIRFLOW_CONN_METRIKA_DEFAULT=documented_connection(metrika.base_url),
        AIRFLOW_CONN_ORDERS_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        METRIKA_SYNC_STATE=str(tmp_path / "metrika-state"),
    )
    db = MetadataDb(airflow_home)
    dag_id = "example_metrika_changed_only"

    first = run_airflow(["dags", "test", dag_id], env)
    assert db.run_state(dag_id, db.latest_run_id(dag_id)) == "success", first.output
    assert _sent_counts(metrika) == [len(WAREHOUSE_ROWS)]

    with sqlite3.connect(warehouse) as conn:
        conn.execute("UPDATE orders SET status = 'CANCELLED' WHERE order_id = 'o-in-1'")
        conn.execute("UPDATE orders SET amount = 99.9 WHERE order_id = 'o-after'")
        conn.execute(
            "INSERT INTO orders VALUES ('o-new', '2024-01-11 08:00:00', 'c9', 'n@example.com', NULL,"
            " 'PAID', 10, 'RUB')"
        )
    second = run_airflow(["dags", "test", dag_id], env)
    run_id = db.latest_run_id(dag_id)

    assert db.run_state(dag_id, run_id) == "success", second.output
    assert _sent_counts(metrika) == [len(WAREHOUSE_ROWS), 3]
    counts = db.xcom(dag_id, run_id, "sync_orders", "sync_state")
    assert (counts["new"], counts["changed"], counts["unchanged"]) == (1, 2, len(WAREHOUSE_ROWS) - 2)
    held = metrika.orders(COUNTER)
    assert held["orders"]["o-in-1"]["order_status"] == "CANCELLED"
    assert held["orders"]["o-after"]["revenue"] == "99.9"
    assert held["applied_counts"] == {"o-before": 1, "o-in-1": 2, "o-in-2": 1, "o-after": 2, "o-new": 1}


def test_two_deployments_syncing_one_counter_at_once_keep_each_others_orders(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    """Two Airflow deployments (two metadata DBs) run the sync at once on one state location."""
    state_dir = tmp_path / "state"
    assert (
        run_sync(sync_env, "test_metrika_sync", orders_file(tmp_path, "base.csv", FIRST), state_dir)[0]
        == "success"
    )
    # A raises o-1 and o-2; B raises o-3 and o-2 to another value. B starts once A's upload is in
    # flight (held back 45 s: a loaded machine can take 20 s to start a run), so B reads the state
    # with A's orders pending; B's upload, held back 45 s too, ends after A's.
    run_a = [FIRST[0].replace(",100", ",111"), FIRST[1].replace(",200", ",222"), FIRST[2], FIRST[3]]
    run_b = [FIRST[0], FIRST[1].replace(",200", ",299"), FIRST[2].replace(",300", ",333"), FIRST[3]]
    homes = []
    for name in ("a", "b"):
        home = tmp_path / f"home-{name}"
        home.mkdir()
        # The backup API copies a consistent snapshot of the WAL-mode database, unlike a file copy.
        with (
            closing(sqlite3.connect(Path(sync_env["AIRFLOW_HOME"]) / "airflow.db")) as source,
            closing(sqlite3.connect(home / "airflow.db")) as copy,
        ):
            source.backup(copy)
        homes.append(home)
    # Each run's upload is held until both are in flight: B reads the state while A's is pending.
    metrika.inject_faults({"target": "upload", "hold": True, "delay": 240, "times": 2})
    processes = []
    try:
        for home, rows, name in zip(homes, (run_a, run_b), ("a", "b"), strict=True):
            conf = json.dumps(
                {"orders_uri": orders_file(tmp_path, f"{name}.csv", rows), "sync_state": str(state_dir)}
            )
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", "dags", "test", "test_metrika_sync", "-c", conf],
                    env={**sync_env, "AIRFLOW_HOME": str(home)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
            )
            metrika.wait_until_held(1 if name == "a" else 2, timeout=240)
        assert metrika.release() == 2
        outputs = [process.communicate(timeout=300)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    for home, output in zip(homes, outputs, strict=True):
        db = MetadataDb(home)
        assert db.run_state("test_metrika_sync", db.latest_run_id("test_metrika_sync")) == "success", output

    # A third run with B's rows: o-3 is known (B's value); o-2, changed by both, is of unknown
    # value, and so is o-1, pending in A's upload when B read the state: both are sent again.
    state, counts, output = run_sync(
        sync_env, "test_metrika_sync", orders_file(tmp_path, "c.csv", run_b), state_dir
    )
    assert state == "success", output
    assert re.search(r"\n\S+ \[warning *\] [12] orders were changed by two runs at once", output), [
        line for line in output.splitlines() if "orders" in line or "resolved" in line
    ]
    assert counts is not None
    assert (counts["new"], counts["changed"], counts["unchanged"]) == (0, 2, 2)
    assert {k: v["revenue"] for k, v in metrika.orders(COUNTER)["orders"].items()} == {
        "o-1": "100",
        "o-2": "299",
        "o-3": "333",
    }


def test_a_retry_sends_only_the_parts_not_yet_accepted_and_the_state_records_them_all(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    rows = [f"o-{n:03d},2026-11-20 10:{n % 60:02d}:00,buyer{n}@example.com,PAID,{n}" for n in range(100)]
    orders = orders_file(tmp_path, "many.csv", rows)
    # The first try's second part is refused: the task fails after part 1 was accepted.
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading", "skip": 1})

    state, counts, output = run_sync(sync_env, "test_metrika_sync_retry", orders, state_dir)

    assert state == "success", output
    db = MetadataDb(Path(sync_env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id("test_metrika_sync_retry")
    assert db.task_tries("test_metrika_sync_retry", run_id, "sync") == 2, "one failed try, one retry"
    sent = [entry["multipart"][0]["sha256"] for entry in metrika.api_requests(path_contains="simple_orders")]
    assert len(set(sent)) == 3, "three parts"
    assert sent.count(sent[0]) == 1, "the part accepted before the failure was not sent again"
    assert set(metrika.orders(COUNTER)["applied_counts"].values()) == {1}
    assert counts is not None
    assert (counts["sent"], counts["state_orders"]) == (100, 100)

    state, counts, output = run_sync(sync_env, "test_metrika_sync_retry", orders, state_dir)
    assert state == "success", output
    assert counts is not None
    assert (counts["unchanged"], counts["sent"]) == (100, 0)
