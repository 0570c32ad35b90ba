"""Test DAG: an upload, then one sensor per token kind (connections ``metrika_scope_<name>``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor

SAMPLE_ORDERS = Path(__file__).resolve().parents[3] / "example_dags" / "data" / "sample_orders.csv"
SCOPE_CONNECTIONS = ("uploadonly", "writeonly", "readonly", "uploadread", "writeread", "noscope", "revoked")


@dag(dag_id="metrika_wait_scoped", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def metrika_wait_scoped() -> None:
    """Upload the sample orders with a full token, then wait for them with each scoped token."""

    @task
    def upload_orders() -> list[dict[str, Any]]:
        """Upload the sample file; return the uploading objects."""
        return [upload_simple_orders(MetrikaHook(), None, SAMPLE_ORDERS)]

    uploaded = upload_orders()
    for name in SCOPE_CONNECTIONS:
        MetrikaUploadingSensor(
            task_id=f"wait_{name}",
            uploading_ids=uploaded,
            counter_id=12345,
            metrika_conn_id=f"metrika_scope_{name}",
            deferrable=False,
            poke_interval=0.5,
            timeout=60,
        )


metrika_wait_scoped()
