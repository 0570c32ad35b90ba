"""
A real deployment: ``airflow standalone`` runs the example DAG, and the sensor waits in the triggerer.

Scheduler, DAG processor, triggerer and API server run as separate processes on loopback, with a
throw-away AIRFLOW_HOME and the emulator as Metrika, one deployment for the module's tests. The
whole process tree is stopped at the end, and nothing of it may be left running. ``make compat``
runs the same kind of checks on every supported Airflow line.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.conftest import TOKEN
from tests.standalone import Standalone, free_port, standalone_env

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

DAG_ID = "example_metrika_wait_for_validation"
SENSOR = "wait_for_validation"
#: Seconds for all components to come up and parse the DAG on a slow, shared 2-core machine.
STARTUP_TIMEOUT = 240
#: Seconds for the run to reach each observed state.
STATE_TIMEOUT = 180


@pytest.fixture(scope="module")
def standalone(
    tmp_path_factory: pytest.TempPathFactory, metrika_emulator: EmulatorClient
) -> Iterator[Standalone]:
    """Start ``airflow standalone`` on loopback with the example DAGs; stop its whole tree afterwards."""
    root = tmp_path_factory.mktemp("standalone")
    home = root / "airflow-home"
    home.mkdir()
    port = free_port()
    deployment = Standalone(
        home, standalone_env(home, port, metrika_emulator.base_url), root / "standalone.log", port
    )
    try:
        yield deployment
    finally:
        leftovers = deployment.stop()
        assert leftovers == [], f"processes left running after the stop: {leftovers}"
        assert deployment.process.returncode is not None


def _start_run(standalone: Standalone) -> str:
    standalone.wait_for(
        "healthy API server", lambda: standalone.api("GET", "/monitor/health").ok, STARTUP_TIMEOUT
    )
    standalone.wait_for(
        f"DAG {DAG_ID} parsed", lambda: standalone.api("GET", f"/dags/{DAG_ID}").ok, STARTUP_TIMEOUT
    )
    answer = standalone.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    assert answer.ok, answer.text
    answer = standalone.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
    assert answer.ok, answer.text
    run_id = str(answer.json()["dag_run_id"])
    standalone.wait_for(
        f"{SENSOR} deferred", lambda: _task_state(standalone, run_id) == "deferred", STATE_TIMEOUT
    )
    return run_id


def _finished(standalone: Standalone, run_id: str) -> str:
    return str(
        standalone.wait_for(
            "the run to finish",
            lambda: (s := standalone.db.run_state(DAG_ID, run_id)) in ("success", "failed") and s,
            STATE_TIMEOUT,
        )
    )


def _task_state(standalone: Standalone, run_id: str) -> str | None:
    return standalone.db.task_states(DAG_ID, run_id).get(SENSOR)


def test_sensor_defers_to_the_triggerer_and_the_run_succeeds(
    standalone: Standalone, metrika: EmulatorClient
) -> None:
    # Not listed until the sensor is seen deferred: its first poke must find the upload pending.
    metrika.configure(listing_delay=3600)

    run_id = _start_run(standalone)
    kwargs = standalone.db.trigger_kwargs()
    assert any("uploading_ids" in row for row in kwargs), kwargs
    assert not any(TOKEN in row for row in kwargs)
    metrika.configure(listing_delay=0)
    state = _finished(standalone, run_id)

    assert state == "success", standalone.tail()
    assert standalone.db.task_states(DAG_ID, run_id) == {"upload_orders": "success", SENSOR: "success"}
    [validated] = standalone.db.xcom(DAG_ID, run_id, SENSOR)
    assert validated["api_validation_status"] == "PASSED"
    assert TOKEN not in standalone.log_path.read_text(encoding="utf-8", errors="replace")


def test_the_triggerer_masks_the_token_in_a_failure_it_logs(
    standalone: Standalone, metrika: EmulatorClient
) -> None:
    metrika.configure(listing_delay=3600)
    run_id = _start_run(standalone)
    # Metrika's refusal of the trigger's next poll quotes the token: the trigger logs it as it fails.
    message = f"Refused for token {TOKEN} on purpose"
    metrika.inject_faults(
        {"target": "last_uploadings", "status": 400, "error_type": "invalid_parameter", "message": message}
    )

    assert _finished(standalone, run_id) == "failed", standalone.tail()

    assert _task_state(standalone, run_id) == "failed"
    logs = [standalone.log_path, *(p for p in (standalone.home / "logs").rglob("*") if p.is_file())]
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert TOKEN not in text
    assert message.replace(TOKEN, "***") in text, "the trigger's failure line is not in the logs"
