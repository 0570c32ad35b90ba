"""
A real deployment: ``airflow standalone`` runs the example DAG, and the sensor waits in the triggerer.

Scheduler, DAG processor, triggerer and API server run as separate processes on loopback, with a
throw-away AIRFLOW_HOME and the emulator as Metrika. The whole process tree is stopped at the end,
and the test checks that nothing of it is left running.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def standalone(tmp_path: Path, metrika: EmulatorClient) -> Iterator[Standalone]:
    """Start ``airflow standalone`` on loopback with the example DAGs; stop its whole tree afterwards."""
    home = tmp_path / "airflow-home"
    home.mkdir()
    port = free_port()
    deployment = Standalone(
        home, standalone_env(home, port, metrika.base_url), tmp_path / "standalone.log", port
    )
    try:
        yield deployment
    finally:
        deployment.stop()


def _task_state(standalone: Standalone, run_id: str) -> str | None:
    return standalone.db.task_states(DAG_ID, run_id).get(SENSOR)


def test_sensor_defers_to_the_triggerer_and_the_run_succeeds(
    standalone: Standalone, metrika: EmulatorClient
) -> None:
    # Not listed until the sensor is seen deferred: its first poke must find the upload pending.
    metrika.configure(listing_delay=3600)

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
    run_id = answer.json()["dag_run_id"]

    standalone.wait_for(
        f"{SENSOR} deferred", lambda: _task_state(standalone, run_id) == "deferred", STATE_TIMEOUT
    )
    kwargs = standalone.db.trigger_kwargs()
    assert any("uploading_ids" in row for row in kwargs), kwargs
    assert not any(TOKEN in row for row in kwargs)
    metrika.configure(listing_delay=0)
    state = standalone.wait_for(
        "the run to finish",
        lambda: (s := standalone.db.run_state(DAG_ID, run_id)) in ("success", "failed") and s,
        STATE_TIMEOUT,
    )

    assert state == "success", standalone.tail()
    assert standalone.db.task_states(DAG_ID, run_id) == {"upload_orders": "success", SENSOR: "success"}
    [validated] = standalone.db.xcom(DAG_ID, run_id, SENSOR)
    assert validated["api_validation_status"] == "PASSED"
    assert TOKEN not in standalone.log_path.read_text(encoding="utf-8", errors="replace")
    leftovers = standalone.stop()
    assert leftovers == [], f"processes left running after the stop: {leftovers}"
    assert standalone.process.returncode is not None
