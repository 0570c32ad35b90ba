"""The linkage example under ``airflow dags test``: an upload, a deferred wait (inline trigger), the check."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import MetadataDb, run_airflow
from tests.conftest import COUNTER, DOCUMENTED_TOKEN, documented_connection

DAG_ID = "example_metrika_linkage"
CHECK = "check_linkage"
#: Customers of example_dags/data/crm_orders.csv (9 orders besides one spam, all on 2024-01-09 in Moscow).
CUSTOMERS = [
    {"email": "anna.petrova@example.com"},  # A-1001 and A-1004
    {"email": "ivan@example.org"},
    {"email": "olga.work@example.com"},
    {"phone": "+7 926 111-22-33"},  # A-1007, by phone
    {"client_id": "999"},  # matches no order
]


@pytest.fixture
def example_env(dag_env: dict[str, str], metrika: EmulatorClient) -> dict[str, str]:
    """Return the ``airflow dags test`` environment with the connection docs/emulator.md gives."""
    return {**dag_env, "AIRFLOW_CONN_METRIKA_DEFAULT": documented_connection(metrika.base_url)}


def _run(env: dict[str, str], **conf: object) -> tuple[MetadataDb, str, str]:
    result = run_airflow(["dags", "test", DAG_ID, "--conf", json.dumps(conf)], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    return db, db.latest_run_id(DAG_ID), result.output


def test_the_example_uploads_then_checks_the_linked_share(
    example_env: dict[str, str], metrika: EmulatorClient
) -> None:
    metrika.seed_visits([{"time": "2024-01-08 20:00", **who} for who in CUSTOMERS], counter_id=COUNTER)
    started = time.monotonic()

    db, run_id, output = _run(example_env, settle_seconds=3, min_linked_share=0.5)

    assert db.run_state(DAG_ID, run_id) == "success", output[-6000:]
    assert time.monotonic() - started >= 3
    result = db.xcom(DAG_ID, run_id, CHECK)
    assert (result["sent"], result["linked"], result["share"]) == (9, 5, 0.5556)
    assert result["by_day"] == [
        {
            "date": "2024-01-09",
            "sent": 9,
            "linked": 5,
            "share": 0.5556,
            "comparable": True,
            "spam_sent": 1,
            "spam_linked": 0,
            "by_status": {
                "paid": {"sent": 6, "linked": 3},
                "in_progress": {"sent": 2, "linked": 1},
                "cancelled": {"sent": 1, "linked": 1},
                "other": {"sent": 0, "linked": 0},
                "spam": {"sent": 1, "linked": 0},
            },
        }
    ]
    assert "Waiting in the triggerer until" in output
    assert "2024-01-09     9       5  55.6%" in output
    assert DOCUMENTED_TOKEN not in output
    assert not any(DOCUMENTED_TOKEN in row for row in db.trigger_kwargs())
    assert len(metrika.uploadings(COUNTER)) == 1


def test_a_share_below_the_threshold_fails_the_check(
    example_env: dict[str, str], metrika: EmulatorClient
) -> None:
    metrika.seed_visits([{"time": "2024-01-08 20:00", **CUSTOMERS[0]}], counter_id=COUNTER)

    db, run_id, output = _run(example_env, settle_seconds=0, min_linked_share=0.5)

    assert db.task_states(DAG_ID, run_id) == {"upload_orders": "success", CHECK: "failed"}, output[-6000:]
    assert (
        "Linked share 22.2% (2 of 9 orders, spam apart) on counter 12345 is below min_linked_share 50.0%"
        in output
    )
