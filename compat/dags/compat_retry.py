"""A DAG only the compatibility job runs: an upload in three parts whose second part fails once."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

with DAG(
    dag_id="compat_metrika_upload_retry",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"orders_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload_in_parts",
        counter_id=12345,
        path="{{ params.orders_uri }}",
        max_part_bytes=2048,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
