"""A DAG that uploads an orders file whose statuses and goals name the counter's JavaScript goals."""

from __future__ import annotations

from airflow.sdk import Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.dag_factory import test_dag

with test_dag(
    "test_metrika_goal_identifiers",
    params={"orders_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(task_id="upload", path="{{ params.orders_uri }}", timezone="Europe/Moscow")
