"""Test DAG: an upload, then the sensor in reschedule mode (the worker slot is freed between pokes)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor

SAMPLE_ORDERS = Path(__file__).resolve().parents[3] / "example_dags" / "data" / "sample_orders.csv"


@dag(dag_id="metrika_wait_reschedule", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def metrika_wait_reschedule() -> None:
    """Upload the sample orders and wait for them in reschedule mode."""

    @task
    def upload_orders() -> list[dict[str, Any]]:
        """Upload the sample file; return the uploading objects."""
        return [upload_simple_orders(MetrikaHook(), None, SAMPLE_ORDERS)]

    MetrikaUploadingSensor(
        task_id="wait_for_validation",
        uploading_ids=upload_orders(),
        mode="reschedule",
        deferrable=False,
        poke_interval=1,
        timeout=120,
    )


metrika_wait_reschedule()
