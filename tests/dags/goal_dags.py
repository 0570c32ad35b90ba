"""A DAG that uploads an orders file whose statuses and goals name the counter's JavaScript goals."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

with DAG(
    dag_id="test_metrika_goal_identifiers",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"orders_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(task_id="upload", path="{{ params.orders_uri }}", timezone="Europe/Moscow")
