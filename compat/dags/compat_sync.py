"""A DAG only the compatibility job runs: a ``changed_only`` upload whose state moves after a wait."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

with DAG(
    dag_id="compat_metrika_sync_validated",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"orders_uri": Param("", type="string"), "sync_state": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="sync",
        counter_id=12345,
        path="{{ params.orders_uri }}",
        changed_only=True,
        sync_state="{{ params.sync_state }}",
        wait_for_validation=True,
        deferrable=True,
        poll_interval=1,
    )
