"""DAGs of the expenses suite: a replace from a file, retried at once by Airflow."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param

from airflow_provider_metrika.operators.expenses import MetrikaExpensesUploadOperator
from tests.dag_factory import test_dag

with test_dag("test_expenses_retry", params={"uri": Param("", type="string")}):
    MetrikaExpensesUploadOperator(
        task_id="replace_expenses",
        provider="vk_ads_dwh",
        path="{{ params.uri }}",
        poll_interval=0.2,
        timeout=120,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
