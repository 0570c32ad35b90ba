"""Offline conversions and calls under ``airflow dags test``: DataFrame, file and SQL inputs, waited on."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import REPO, MetadataDb, airflow_env, run_airflow
from tests.conftest import COUNTER, documented_connection


def _run(env: dict[str, str], dag_id: str, *args: str) -> tuple[str, MetadataDb, str, str]:
    result = run_airflow(["dags", "test", dag_id, *args], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(dag_id)
    return db.run_state(dag_id, run_id), db, run_id, result.output


def _xcom(db: MetadataDb, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
    return db.xcom(dag_id, run_id, task_id, key)


def test_a_dataframe_of_conversions_from_an_upstream_task_is_uploaded_waited_on_and_reported(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "tests" / "dags" / "offline_dags.py")}
    state, db, run_id, output = _run(env, "test_offline_conversions_dataframe")

    assert state == "success", output
    stored = metrika.stored_conversions(COUNTER)
    assert sorted(row["Target"] for row in stored) == ["dostavka", "oplata_cash", "oplata_cash"]
    assert {row["writes"] for row in stored} == {1}
    processing = _xcom(db, "test_offline_conversions_dataframe", run_id, "upload", "processing")
    assert (processing["rows_sent"], processing["rows_kept"], processing["rows_linked"]) == (3, 3, 3)
    assert "Metrika processed 1 upload(s): 3 rows linked to visits" in output
    assert "1704791234123456789" not in output, "identifiers are not logged"


def test_a_dataframe_of_calls_is_uploaded_and_waited_on(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "tests" / "dags" / "offline_dags.py")}
    state, db, run_id, output = _run(env, "test_calls_dataframe")

    assert state == "success", output
    calls = metrika.stored_calls(COUNTER)
    assert len(calls) == 2
    assert sorted(call["PhoneNumber"] for call in calls) == ["+74951234567", "+74957654321"]
    report = _xcom(db, "test_calls_dataframe", run_id, "upload", "calls_report")
    assert report["client_id_type"] == "YCLID"


def test_the_example_warehouse_query_sends_yesterdays_paid_orders_as_conversions(
    airflow_home: Path, metrika: EmulatorClient, tmp_path: Path
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    warehouse = tmp_path / "orders.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute(
            "CREATE TABLE orders (order_id TEXT, created_at TEXT, customer_id TEXT, status TEXT,"
            " amount NUMERIC, currency TEXT)"
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("o-1", f"{yesterday} 09:00:00", "crm-17", "PAID", 1200.5, "RUB"),
                ("o-2", f"{yesterday} 12:30:00", "crm-18", "CANCELLED", 300, "RUB"),
                ("o-3", f"{yesterday} 23:59:59", "crm-19", "PAID", 99.9, "EUR"),
                ("o-4", f"{yesterday - timedelta(days=1)} 23:59:59", "crm-20", "PAID", 1, "RUB"),
            ],
        )
    env = airflow_env(
        airflow_home,
        AIRFLOW_CONN_METRIKA_DEFAULT=documented_connection(metrika.base_url),
        AIRFLOW_CONN_ORDERS_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        METRIKA_POLL_SECONDS="0.5",
    )
    dag_id = "example_metrika_offline_conversions"
    # The run's interval is the day before its logical date: yesterday.
    state, db, run_id, output = _run(env, dag_id, (yesterday + timedelta(days=1)).isoformat())

    assert state == "success", output
    stored = metrika.stored_conversions(COUNTER)
    assert sorted(row["UserId"] for row in stored) == ["crm-17", "crm-19"]
    assert {row["Target"] for row in stored} == {"oplata_cash"}
    assert "Metrika processed 1 upload(s): 2 rows linked to visits" in output
    assert (
        _xcom(db, dag_id, run_id, "upload_conversions", "conversions_report")["client_id_type"] == "USER_ID"
    )


def test_the_example_call_tracking_export_is_sent_as_calls(
    airflow_home: Path, metrika: EmulatorClient
) -> None:
    env = airflow_env(airflow_home, AIRFLOW_CONN_METRIKA_DEFAULT=documented_connection(metrika.base_url))
    state, _, _, output = _run(env, "example_metrika_calls")

    assert state == "success", output
    calls = metrika.stored_calls(COUNTER)
    assert len(calls) == 3
    assert {call["Tag"] for call in calls} == {"sales", "support"}
    assert "older than 21 days" in output, "the export's old calls are warned about: they will not link"
