"""
Delivery in a real deployment: a killed task process, Clear after success, a restarted triggerer.

One ``airflow standalone`` (scheduler, DAG processor, triggerer, API server as separate processes,
LocalExecutor) runs the delivery DAGs against the emulator; each test measures what the emulator
stored and what Airflow recorded and compares it with its scenario in ``scenarios.py``. The whole
process tree is stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.conftest import COUNTER, OTHER_COUNTER, SAMPLE_CSV, TOKEN
from tests.delivery.scenarios import (
    Outcome,
    describe,
    expected,
    offline_outcome,
    orders_outcome,
    task_outcome,
)
from tests.standalone import Standalone, free_port, standalone_env, uploading_process

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAGS = Path(__file__).resolve().parent / "dags"
STARTUP_TIMEOUT = 240
STATE_TIMEOUT = 240


@pytest.fixture(scope="module")
def standalone(
    tmp_path_factory: pytest.TempPathFactory, metrika_emulator: EmulatorClient
) -> Iterator[Standalone]:
    """Start ``airflow standalone`` on the delivery DAGs; stop its whole tree afterwards."""
    root = tmp_path_factory.mktemp("delivery-deployment")
    home = root / "airflow-home"
    home.mkdir()
    port = free_port()
    env = standalone_env(home, port, metrika_emulator.base_url, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS))
    deployment = Standalone(home, env, root / "standalone.log", port)
    try:
        deployment.wait_for(
            "healthy API server", lambda: deployment.api("GET", "/monitor/health").ok, STARTUP_TIMEOUT
        )
        yield deployment
    finally:
        leftovers = deployment.stop()
        assert leftovers == [], f"processes left running after the stop: {leftovers}"


def _unpause(standalone: Standalone, dag_id: str) -> None:
    standalone.wait_for(
        f"DAG {dag_id} parsed", lambda: standalone.api("GET", f"/dags/{dag_id}").ok, STARTUP_TIMEOUT
    )
    answer = standalone.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    assert answer.ok, answer.text


def _trigger(standalone: Standalone, dag_id: str, conf: dict[str, Any]) -> str:
    _unpause(standalone, dag_id)
    answer = standalone.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
    assert answer.ok, answer.text
    return str(answer.json()["dag_run_id"])


def _finished(standalone: Standalone, dag_id: str, run_id: str) -> str:
    return str(
        standalone.wait_for(
            f"{dag_id} {run_id} to finish",
            lambda: (s := standalone.db.run_state(dag_id, run_id)) in ("success", "failed") and s,
            STATE_TIMEOUT,
        )
    )


def _orders_file(path: Path, ids: list[str], with_ids: bool = True) -> str:
    lines = ["id,create_date_time,emails"]
    lines += [f"{i if with_ids else ''},2024-01-09 10:00:00,{i}@example.com" for i in ids]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _clear_and_rerun(standalone: Standalone, dag_id: str, run_id: str) -> None:
    """Clear the upload task as the UI does, and wait for its second try to end."""
    answer = standalone.api(
        "POST",
        f"/dags/{dag_id}/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "task_ids": ["upload"], "only_failed": False},
    )
    assert answer.ok, answer.text
    standalone.wait_for(
        "the cleared task to run again",
        lambda: (
            standalone.db.task_tries(dag_id, run_id, "upload") == 2
            and standalone.db.task_states(dag_id, run_id)["upload"] in ("success", "failed")
        ),
        STATE_TIMEOUT,
    )


def _posts(metrika: EmulatorClient) -> int:
    return len(metrika.api_requests(path_contains="simple_orders"))


@pytest.mark.parametrize(
    ("merge_mode", "with_ids", "key"),
    [
        ("SAVE", True, "task_process_killed_save_with_ids"),
        ("APPEND", False, "task_process_killed_append_without_ids"),
    ],
)
def test_a_task_killed_between_the_post_and_its_answer_is_resolved_by_the_retry(
    standalone: Standalone,
    metrika: EmulatorClient,
    tmp_path: Path,
    merge_mode: str,
    with_ids: bool,
    key: str,
) -> None:
    # Metrika stores the file, then holds the answer: the task is killed while it waits.
    metrika.inject_faults({"target": "upload", "delay": 120})
    orders = _orders_file(tmp_path / "orders.csv", ["k-1", "k-2"], with_ids)
    run_id = _trigger(standalone, "delivery_upload", {"orders_uri": orders, "merge_mode": merge_mode})
    standalone.wait_for("the upload stored", lambda: metrika.uploadings(COUNTER), STATE_TIMEOUT)
    task_process = uploading_process(metrika.base_url)
    task_process.send_signal(signal.SIGKILL)

    _finished(standalone, "delivery_upload", run_id)

    db = standalone.db
    ids = {"k-1", "k-2"} if with_ids else set()
    outcome = Outcome(
        orders_outcome(metrika, COUNTER, ids, without_id=0 if with_ids else 2),
        _posts(metrika),
        task_outcome(
            db.task_states("delivery_upload", run_id)["upload"],
            db.task_tries("delivery_upload", run_id, "upload"),
        ),
    )
    assert outcome == expected(key), describe(outcome) + "\n" + standalone.tail()
    [uploading] = db.xcom("delivery_upload", run_id, "upload")
    assert uploading["uploading_id"] == metrika.uploadings(COUNTER)[0]["uploading_id"]


@pytest.mark.parametrize(
    ("dag_id", "target", "key"),
    [
        ("delivery_conversions_upload", "conversions_upload", "conversions_task_process_killed"),
        ("delivery_calls_upload", "calls_upload", "calls_task_process_killed"),
    ],
)
def test_an_offline_upload_killed_between_the_post_and_its_answer_is_found_by_its_comment(
    standalone: Standalone, metrika: EmulatorClient, tmp_path: Path, dag_id: str, target: str, key: str
) -> None:
    # Metrika stores the file, then holds the answer: the task is killed while it waits.
    metrika.inject_faults({"target": target, "delay": 120})
    now = int(time.time()) - 600
    source = tmp_path / "rows.csv"
    header = "Target,DateTime,ClientId" if target == "conversions_upload" else "DateTime,ClientId"
    first = "oplata_cash," if target == "conversions_upload" else ""
    rows = [f"{first}{now - n},17047912341234567{n:02d}" for n in range(2)]
    source.write_text("\n".join([header, *rows]) + "\n")
    listing = metrika.conversions_uploadings if target == "conversions_upload" else metrika.calls_uploadings
    run_id = _trigger(standalone, dag_id, {"uri": str(source)})
    standalone.wait_for("the upload stored", lambda: listing(COUNTER), STATE_TIMEOUT)
    uploading_process(metrika.base_url).send_signal(signal.SIGKILL)

    _finished(standalone, dag_id, run_id)

    db = standalone.db
    conversions = target == "conversions_upload"
    stored = metrika.stored_conversions(COUNTER) if conversions else metrika.stored_calls(COUNTER)
    posts = metrika.api_requests(path_contains="offline_conversions/upload", method="POST")
    outcome = Outcome(
        offline_outcome(stored, 2),
        len(posts),
        task_outcome(db.task_states(dag_id, run_id)["upload"], db.task_tries(dag_id, run_id, "upload")),
    )
    assert outcome == expected(key), describe(outcome) + "\n" + standalone.tail()
    [uploading] = db.xcom(dag_id, run_id, "upload")
    assert uploading["comment"] == listing(COUNTER)[0]["comment"]


def test_clear_after_success_sends_again_to_the_destination_configured_then(
    standalone: Standalone, metrika: EmulatorClient, tmp_path: Path
) -> None:
    connection = {
        "connection_id": "metrika_delivery",
        "conn_type": "metrika",
        "host": metrika.base_url,
        "password": TOKEN,
        "extra": json.dumps({"counter_id": COUNTER, "retry_delay": 0.2}),
    }
    standalone.api("DELETE", "/connections/metrika_delivery")
    answer = standalone.api("POST", "/connections", json=connection)
    assert answer.ok, answer.text
    orders = _orders_file(tmp_path / "orders.csv", ["c-1", "c-2"])
    dag_id = "delivery_upload_on_connection"
    run_id = _trigger(standalone, dag_id, {"orders_uri": orders})
    assert _finished(standalone, dag_id, run_id) == "success", standalone.tail()
    assert set(metrika.orders(COUNTER)["orders"]) == {"c-1", "c-2"}

    # Staging -> production: the same task now points at another counter, and is cleared.
    changed = {**connection, "extra": json.dumps({"counter_id": OTHER_COUNTER, "retry_delay": 0.2})}
    answer = standalone.api("PATCH", "/connections/metrika_delivery", json=changed)
    assert answer.ok, answer.text
    _clear_and_rerun(standalone, dag_id, run_id)

    db = standalone.db
    outcome = Outcome(
        orders_outcome(metrika, OTHER_COUNTER, {"c-1", "c-2"}),
        _posts(metrika),
        task_outcome(db.task_states(dag_id, run_id)["upload"], db.task_tries(dag_id, run_id, "upload")),
    )
    assert outcome == expected("clear_after_success_with_another_counter"), (
        describe(outcome) + "\n" + standalone.tail()
    )


def _journal_command(standalone: Standalone, verb: str, dag_id: str, run_id: str) -> str:
    """Run ``python -m airflow_provider_metrika.delivery <verb>`` as a person would, on the deployment."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_metrika.delivery",
            verb,
            "--dag-id",
            dag_id,
            "--run-id",
            run_id,
            "--task-id",
            "upload",
        ],
        env=standalone.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_clear_after_an_uncertain_upload_resolved_by_hand_sends_everything_again(
    standalone: Standalone, metrika: EmulatorClient, tmp_path: Path
) -> None:
    connection = {
        "connection_id": "metrika_delivery",
        "conn_type": "metrika",
        "host": metrika.base_url,
        "password": TOKEN,
        "extra": json.dumps({"counter_id": COUNTER, "retry_delay": 0.2, "lost_answer_wait": 1}),
    }
    standalone.api("DELETE", "/connections/metrika_delivery")
    assert standalone.api("POST", "/connections", json=connection).ok
    metrika.configure(listing_delay=600)
    metrika.inject_faults({"target": "upload", "drop": "after"})
    orders = _orders_file(tmp_path / "orders.csv", ["u-1", "u-2"], with_ids=False)
    dag_id = "delivery_upload_on_connection"
    run_id = _trigger(standalone, dag_id, {"orders_uri": orders, "merge_mode": "APPEND"})
    assert _finished(standalone, dag_id, run_id) == "failed", standalone.tail()
    assert (
        json.loads(_journal_command(standalone, "show", dag_id, run_id))["records"][0]["state"] == "sending"
    )

    # The person finds the upload in Metrika: resolved, then marked success.
    assert "Forgot 1 upload record" in _journal_command(standalone, "forget", dag_id, run_id)
    answer = standalone.api(
        "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/upload", json={"new_state": "success"}
    )
    assert answer.ok, answer.text
    assert json.loads(_journal_command(standalone, "show", dag_id, run_id))["records"] == []
    # Later the counter's data is deleted in Metrika, and the task is cleared to send it again.
    metrika.reset()
    metrika.configure(listing_delay=0.0)
    _clear_and_rerun(standalone, dag_id, run_id)

    db = standalone.db
    outcome = Outcome(
        orders_outcome(metrika, COUNTER, set(), without_id=2),
        _posts(metrika),
        task_outcome(db.task_states(dag_id, run_id)["upload"], db.task_tries(dag_id, run_id, "upload")),
    )
    assert outcome == expected("clear_after_a_hand_marked_success"), (
        describe(outcome) + "\n" + standalone.tail()
    )


def _triggerer(standalone: Standalone) -> psutil.Process:
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if "triggerer" in " ".join(process.cmdline()) and process.environ().get("AIRFLOW_HOME") == str(
                standalone.home
            ):
                return process
    raise AssertionError("no triggerer process found")


def test_a_restarted_triggerer_resumes_the_deferred_wait(
    standalone: Standalone, metrika: EmulatorClient, tmp_path: Path
) -> None:
    metrika.configure(listing_delay=3600)
    sample = tmp_path / "sample.csv"
    sample.write_bytes(SAMPLE_CSV)
    dag_id = "delivery_upload_and_wait"
    run_id = _trigger(standalone, dag_id, {"orders_uri": str(sample)})
    standalone.wait_for(
        "the sensor deferred",
        lambda: standalone.db.task_states(dag_id, run_id).get("wait_for_validation") == "deferred",
        STATE_TIMEOUT,
    )
    first = _triggerer(standalone)
    for process in [first, *first.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGKILL)
    log = (tmp_path / "triggerer.log").open("wb")
    second = subprocess.Popen(
        [sys.executable, "-m", "airflow", "triggerer"],
        env=standalone.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        metrika.configure(listing_delay=0)
        state = _finished(standalone, dag_id, run_id)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(second.pid, signal.SIGTERM)
        second.wait(30)
        log.close()

    db = standalone.db
    outcome = Outcome(
        orders_outcome(metrika, COUNTER, {"s_ord1", "s_ord2"}, without_id=1),
        _posts(metrika),
        task_outcome(
            db.task_states(dag_id, run_id)["wait_for_validation"],
            db.task_tries(dag_id, run_id, "wait_for_validation"),
            "sensor",
        ),
    )
    assert state == "success", (tmp_path / "triggerer.log").read_text()[-3000:]
    assert outcome == expected("triggerer_restarted_while_deferred"), describe(outcome)
    assert TOKEN not in "".join(db.trigger_kwargs())
