"""DAGs the compatibility job runs in a real deployment (scheduler, DAG processor, triggerer)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_metrika.operators.expenses import MetrikaExpensesUploadOperator
from airflow_provider_metrika.operators.offline_conversions import MetrikaOfflineConversionsUploadOperator
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor

PARAMS = {"orders_uri": Param("", type="string"), "merge_mode": Param("SAVE", type="string")}

with DAG(
    dag_id="compat_deployment_upload_and_wait",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params=PARAMS,
):
    upload = SimpleOrdersUploadOperator(
        task_id="upload", path="{{ params.orders_uri }}", timezone="Europe/Moscow"
    )
    MetrikaUploadingSensor(
        task_id="wait_for_validation",
        uploading_ids=upload.output,
        deferrable=True,
        poke_interval=5,
        timeout=600,
    )

with DAG(
    dag_id="compat_deployment_upload_validated",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params=PARAMS,
):
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        timezone="Europe/Moscow",
        wait_for_validation=True,
        deferrable=True,
        poll_interval=5,
    )

with DAG(
    dag_id="compat_deployment_upload_retry",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params=PARAMS,
):
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        timezone="Europe/Moscow",
        retries=2,
        retry_delay=timedelta(seconds=0),
    )

with DAG(
    dag_id="compat_deployment_upload_uncertain",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params=PARAMS,
):
    # On a connection that waits 1 s for a lost answer to be listed (metrika_uncertain).
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        metrika_conn_id="metrika_uncertain",
        timezone="Europe/Moscow",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with DAG(
    dag_id="compat_deployment_conversions_processed",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"uri": Param("", type="string")},
):
    MetrikaOfflineConversionsUploadOperator(
        task_id="upload",
        path="{{ params.uri }}",
        timezone="Europe/Moscow",
        wait_for_processing=True,
        deferrable=True,
        poll_interval=5,
    )

with DAG(
    dag_id="compat_deployment_expenses_replace",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"uri": Param("", type="string")},
):
    MetrikaExpensesUploadOperator(
        task_id="upload",
        provider="compat_ads",
        path="{{ params.uri }}",
        deferrable=True,
        poll_interval=2,
    )
