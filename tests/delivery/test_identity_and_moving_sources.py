"""
Delivery under `airflow dags test` when parts repeat, the source moves between tries, and force_resend or
rejects_path are given by a run: each test measures what the emulator stored and what Airflow recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import MetadataDb, run_airflow
from tests.conftest import COUNTER
from tests.delivery.environment import delivery_env
from tests.delivery.scenarios import Outcome, describe, expected, orders_outcome, task_outcome

SAMPLE_IDS = {"s_ord1", "s_ord2"}


@pytest.fixture
def env(dag_env: dict[str, str], metrika: EmulatorClient) -> dict[str, str]:
    """``dags test`` on the delivery DAGs with one hook retry (a quota answer twice fails a try)."""
    return delivery_env(dag_env, metrika.base_url, retry_limit=1)


def _pos_export(path: Path, emails: list[str]) -> Path:
    path.write_text("id,create_date_time,emails\n" + "".join(f",2024-01-09 10:00:00,{e}\n" for e in emails))
    return path


def _posts(metrika: EmulatorClient) -> int:
    return len(metrika.api_requests(path_contains="simple_orders"))


def _outcome(metrika: EmulatorClient, env: dict[str, str], dag_id: str, orders: str) -> Outcome:
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(dag_id)
    task = task_outcome(db.task_states(dag_id, run_id)["upload"], db.task_tries(dag_id, run_id, "upload"))
    return Outcome(orders, _posts(metrika), task)


def _stored_without_id(metrika: EmulatorClient) -> list[str]:
    return sorted(o["emails"] for o in metrika.orders(COUNTER)["orders_without_id"])


def test_byte_identical_parts_of_a_pos_export_are_each_delivered(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    # Two customers, each buying twice that day: parts of two rows have equal bytes.
    orders = _pos_export(tmp_path / "pos.csv", ["a@example.com", "b@example.com"] * 2)

    result = run_airflow(
        ["dags", "test", "delivery_pos_export", "--conf", json.dumps({"orders_uri": str(orders)})], env
    )

    stored = _stored_without_id(metrika)
    orders_text = orders_outcome(metrika, COUNTER, set(), without_id=4)
    outcome = _outcome(metrika, env, "delivery_pos_export", orders_text)
    assert outcome == expected("identical_parts_in_one_task"), describe(outcome) + result.output[-3000:]
    assert stored == ["a@example.com", "a@example.com", "b@example.com", "b@example.com"]


def _run_while_the_source_moves(
    metrika: EmulatorClient, env: dict[str, str], source: Path, conf: dict[str, str], moved: list[str]
) -> str:
    """Run the POS DAG; while part 2's POST is held, put a late order at the top of the source."""
    # Part 1 is accepted; part 2 is refused by quota twice (the hook's retry too): try 1 fails.
    metrika.inject_faults(
        {"target": "upload", "skip": 1, "status": 429, "hold": True, "delay": 240},
        {"target": "upload", "status": 429},
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", "delivery_pos_export", "--conf", json.dumps(conf)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        metrika.wait_until_held(1, timeout=240)  # part 2's POST
        _pos_export(source, moved)
        metrika.release()
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return output


ROWS = [f"c{n}@example.com" for n in range(6)]


def test_a_retry_whose_source_moved_fails_before_sending_rather_than_apply_rows_twice(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    source = _pos_export(tmp_path / "orders.csv", ROWS)

    output = _run_while_the_source_moves(
        metrika, env, source, {"orders_uri": str(source)}, ["late@example.com", *ROWS]
    )

    orders_text = orders_outcome(metrika, COUNTER, set(), without_id=len(ROWS))
    outcome = _outcome(metrika, env, "delivery_pos_export", orders_text)
    assert outcome == expected("source_moved_between_tries"), describe(outcome) + output[-3000:]
    assert _stored_without_id(metrika) == ROWS[:2], "part 1's rows once, nothing else"
    assert "MetrikaSourceChangedError" in output
    assert "archive_path=" in output


def test_with_archive_path_a_retry_whose_source_moved_sends_the_first_tries_parts(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    source = _pos_export(tmp_path / "orders.csv", ROWS)
    archive = tmp_path / "archive"

    output = _run_while_the_source_moves(
        metrika,
        env,
        source,
        {"orders_uri": str(source), "archive_uri": str(archive)},
        ["late@example.com", *ROWS],
    )

    orders_text = orders_outcome(metrika, COUNTER, set(), without_id=6)
    outcome = _outcome(metrika, env, "delivery_pos_export", orders_text)
    assert outcome == expected("source_moved_between_tries_archived"), describe(outcome) + output[-3000:]
    assert _stored_without_id(metrika) == sorted(ROWS), "each first-try row once; the late order waits"
    [manifest] = list(archive.rglob("manifest.json"))
    kept = json.loads(manifest.read_text())
    listed = {u["uploading_id"] for u in metrika.uploadings(COUNTER)}
    assert {p["uploading_id"] for p in kept["parts"]} <= listed
    assert len(kept["parts"]) == 3


def test_force_resend_from_a_run_param_never_resends_a_lost_answer_of_the_same_try(
    metrika: EmulatorClient, env: dict[str, str], sample_csv: str
) -> None:
    metrika.configure(listing_delay=600)
    metrika.inject_faults({"target": "upload", "drop": "after"})
    conf = {"orders_uri": sample_csv, "force_resend": True}

    result = run_airflow(["dags", "test", "delivery_force_resend_param", "--conf", json.dumps(conf)], env)

    orders_text = orders_outcome(metrika, COUNTER, SAMPLE_IDS, without_id=1)
    outcome = _outcome(metrika, env, "delivery_force_resend_param", orders_text)
    assert outcome == expected("force_resend_same_try"), describe(outcome) + result.output[-3000:]
    assert "MetrikaUploadUncertainError" in result.output
    assert "python -m airflow_provider_metrika.delivery resend" in result.output


def test_rejects_path_in_a_folder_not_there_yet_keeps_the_rows_and_names_them(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,create_date_time,emails\n"
        "r-1,2024-01-09 10:00:00,one@example.com\n"
        "r-2,1960-01-01,two@example.com\n"
    )
    kept = tmp_path / "rejects" / "2024-01-09" / "rejects.csv"
    conf = {"orders_uri": str(orders), "rejects_uri": str(kept)}

    result = run_airflow(["dags", "test", "delivery_rejects", "--conf", json.dumps(conf)], env)

    outcome = _outcome(
        metrika,
        env,
        "delivery_rejects",
        "none sent" if not metrika.orders(COUNTER)["orders"] else "some sent",
    )
    assert outcome == expected("rejects_path_in_a_new_folder"), describe(outcome) + result.output[-3000:]
    assert "r-2" in kept.read_text()
    assert "1 of 2 rows rejected" in result.output or "more than max_invalid_fraction" in result.output
    assert str(kept) in result.output, "the message names the kept file, not a deleted temporary one"
    assert "FileNotFoundError" not in result.output
