"""
A real deployment waits for Metrika's reports in the triggerer, then a Clear re-runs the check alone.

``airflow standalone`` (scheduler, DAG processor, triggerer, API server) on loopback with the
emulator as Metrika: the check defers to the triggerer without holding a worker slot, resumes
after ``settle_seconds`` and reads the linked orders; cleared, it reads again without waiting and
without the upload running again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.conftest import COUNTER, TOKEN
from tests.operators.test_linkage_dag import CUSTOMERS
from tests.standalone import Standalone, free_port, standalone_env

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

DAGS = Path(__file__).resolve().parent / "dags"
DAG_ID = "linkage_deployment"
CHECK = "check_linkage"
#: Long enough to see the check deferred on a loaded 2-core machine, short for a test.
SETTLE_SECONDS = 40
STARTUP_TIMEOUT = 240
STATE_TIMEOUT = 180


@pytest.fixture
def standalone(tmp_path: Path, metrika: EmulatorClient) -> Iterator[Standalone]:
    """Start ``airflow standalone`` with this test's DAG; stop its whole tree afterwards."""
    home = tmp_path / "airflow-home"
    home.mkdir()
    port = free_port()
    env = standalone_env(home, port, metrika.base_url, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS))
    deployment = Standalone(home, env, tmp_path / "standalone.log", port)
    try:
        yield deployment
    finally:
        assert deployment.stop() == [], "processes of the deployment were left running"


def _state(standalone: Standalone, run_id: str) -> str | None:
    return standalone.db.task_states(DAG_ID, run_id).get(CHECK)


def test_the_check_waits_in_the_triggerer_and_a_clear_re_runs_it_alone(
    standalone: Standalone, metrika: EmulatorClient
) -> None:
    metrika.seed_visits([{"time": "2024-01-08 20:00", **who} for who in CUSTOMERS], counter_id=COUNTER)
    standalone.wait_for(
        "healthy API server", lambda: standalone.api("GET", "/monitor/health").ok, STARTUP_TIMEOUT
    )
    standalone.wait_for(
        f"DAG {DAG_ID} parsed", lambda: standalone.api("GET", f"/dags/{DAG_ID}").ok, STARTUP_TIMEOUT
    )
    assert standalone.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).ok
    answer = standalone.api(
        "POST",
        f"/dags/{DAG_ID}/dagRuns",
        json={"logical_date": None, "conf": {"settle_seconds": SETTLE_SECONDS, "min_linked_share": 0.5}},
    )
    assert answer.ok, answer.text
    run_id = answer.json()["dag_run_id"]

    standalone.wait_for(f"{CHECK} deferred", lambda: _state(standalone, run_id) == "deferred", STATE_TIMEOUT)
    kwargs = standalone.db.trigger_kwargs()
    assert any("moment" in row for row in kwargs), kwargs
    assert not any(TOKEN in row for row in kwargs)
    assert metrika.api_requests(path_contains="/stat/") == [], "nothing is read before the reports settle"
    state = standalone.wait_for(
        "the run to finish",
        lambda: (s := standalone.db.run_state(DAG_ID, run_id)) in ("success", "failed") and s,
        STATE_TIMEOUT,
    )
    assert state == "success", standalone.tail()
    first = standalone.db.xcom(DAG_ID, run_id, CHECK)
    assert (first["sent"], first["linked"], first["share"]) == (9, 5, 0.5556)

    answer = standalone.api(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "task_ids": [CHECK], "only_failed": False},
    )
    assert answer.ok, answer.text
    standalone.wait_for(
        "the cleared check to run again",
        lambda: (
            standalone.db.task_tries(DAG_ID, run_id, CHECK) == 2 and _state(standalone, run_id) == "success"
        ),
        STATE_TIMEOUT,
    )

    assert standalone.db.xcom(DAG_ID, run_id, CHECK) == first
    assert len(metrika.uploadings(COUNTER)) == 1, "the upload did not run again"
    assert len(metrika.api_requests(path_contains="/stat/")) == 2
    assert standalone.db.task_tries(DAG_ID, run_id, "upload_orders") == 1
