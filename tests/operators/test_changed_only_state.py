"""``changed_only=True`` under real Airflow runs: a quiet day, and a state that matches what Metrika holds."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import MetadataDb
from tests.conftest import COUNTER
from tests.operators.sync_runs import orders_file, run_sync

FIRST = [
    "o-1,2026-11-20 10:00:00,a@example.com,PAID,101",
    "o-2,2026-11-20 11:00:00,b@example.com,IN_PROGRESS,200",
    "o-3,2026-11-20 12:00:00,c@example.com,PAID,300",
]


def _revenues(metrika: EmulatorClient) -> dict[str, str]:
    return {key: order["revenue"] for key, order in metrika.orders(COUNTER)["orders"].items()}


def test_a_quiet_day_is_green_upload_and_every_kind_of_sensor(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    dag_id = "test_metrika_sync_then_wait"
    state_dir = tmp_path / "state"
    orders = orders_file(tmp_path, "a.csv", FIRST)
    state, _, output = run_sync(sync_env, dag_id, orders, state_dir)
    assert state == "success", output

    state, _, output = run_sync(sync_env, dag_id, orders, state_dir)

    assert state == "success", output
    db = MetadataDb(Path(sync_env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(dag_id)
    assert db.task_states(dag_id, run_id) == {
        "sync": "success",
        "wait_poke": "success",
        "wait_reschedule": "success",
        "wait_deferred": "success",
    }
    assert db.xcom(dag_id, run_id, "sync", "return_value") == []
    assert output.count("No uploadings to wait for (the upload sent nothing): done.") == 3
    assert len(metrika.uploadings(COUNTER)) == 1, "nothing sent on the quiet day"


def _many(changes: dict[int, int] | None = None) -> list[str]:
    values = {n: 100 + n for n in range(100)} | (changes or {})
    return [
        f"o-{n:03d},2026-11-20 10:{n % 60:02d}:00,buyer{n}@example.com,PAID,{v}" for n, v in values.items()
    ]


def test_a_run_whose_second_part_failed_leaves_the_first_parts_orders_to_be_sent_again(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    dag_id = "test_metrika_sync_parts"
    state_dir = tmp_path / "state"
    assert run_sync(sync_env, dag_id, orders_file(tmp_path, "a.csv", _many()), state_dir)[0] == "success"
    # Every order changes: the first part (with o-000) is accepted, the second refused.
    changed = orders_file(tmp_path, "b.csv", _many({n: 1000 + n for n in range(100)}))
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading", "skip": 1})
    state, _, output = run_sync(sync_env, dag_id, changed, state_dir)
    assert state == "failed", output
    assert _revenues(metrika)["o-000"] == "1000"

    # The warehouse reverts all but o-099: o-000 is sent, as Metrika's 1000 was never confirmed.
    state, _, output = run_sync(sync_env, dag_id, orders_file(tmp_path, "c.csv", _many({99: 555})), state_dir)

    assert state == "success", output
    assert "sent again whatever their value" in output
    assert _revenues(metrika) == {f"o-{n:03d}": str(v) for n, v in enumerate(100 + n for n in range(100))} | {
        "o-099": "555"
    }


def test_an_upload_listed_failed_after_its_run_ended_green_is_sent_again(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    assert (
        run_sync(sync_env, "test_metrika_sync", orders_file(tmp_path, "a.csv", FIRST), state_dir)[0]
        == "success"
    )
    changed = orders_file(tmp_path, "b.csv", [FIRST[0].replace(",101", ",999"), *FIRST[1:]])
    # Metrika answers IN_PROGRESS, and lists the uploading FAILED later (before the next run).
    metrika.configure(status_delay=600)
    metrika.inject_faults({"target": "upload", "validation": "FAILED"})
    state, _, output = run_sync(sync_env, "test_metrika_sync", changed, state_dir)
    assert state == "success", output  # without wait_for_validation, the answer is all it sees
    assert _revenues(metrika)["o-1"] == "101", "FAILED: nothing stored"
    metrika.configure(status_delay=0)

    state, _, output = run_sync(sync_env, "test_metrika_sync", changed, state_dir)

    assert state == "success", output
    assert "Earlier uploads resolved with Metrika's list of uploadings: 1 FAILED" in output
    assert _revenues(metrika)["o-1"] == "999"


def test_a_deferred_wait_that_ends_failed_leaves_the_orders_to_be_sent_again(
    sync_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    assert (
        run_sync(sync_env, "test_metrika_sync", orders_file(tmp_path, "a.csv", FIRST), state_dir)[0]
        == "success"
    )
    changed = orders_file(tmp_path, "b.csv", [FIRST[0].replace(",101", ",999"), *FIRST[1:]])
    metrika.configure(status_delay=2.0)
    metrika.inject_faults({"target": "upload", "validation": "FAILED"})
    state, _, output = run_sync(sync_env, "test_metrika_sync_validated", changed, state_dir)
    assert state == "failed", output
    assert "deferred" in output.lower()
    assert "MetrikaUploadingFailedError" in output

    state, _, output = run_sync(sync_env, "test_metrika_sync", changed, state_dir)

    assert state == "success", output
    assert _revenues(metrika)["o-1"] == "999"
