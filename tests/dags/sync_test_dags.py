"""DAGs that sync an orders file with ``changed_only=True``, as a user would schedule it daily."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor
from tests.dag_factory import test_dag

#: The asset a sync task updates; its events carry the change counts.
SYNCED_ORDERS = Asset("metrika://counter/12345/synced_orders")
PARAMS = {
    "orders_uri": Param("", type="string"),
    "sync_state": Param("", type="string"),
    "counter_id": Param(12345, type="integer"),
    "full_refresh": Param(False, type="boolean"),
}

with test_dag(
    "test_metrika_sync",
    params=PARAMS,
):
    SimpleOrdersUploadOperator(
        task_id="sync",
        counter_id="{{ params.counter_id }}",
        path="{{ params.orders_uri }}",
        changed_only=True,
        sync_state="{{ params.sync_state }}",
        full_refresh="{{ params.full_refresh }}",
        timezone="Europe/Moscow",
        outlets=[SYNCED_ORDERS],
        retries=0,
    )

for dag_id, timeout in (
    ("test_metrika_sync_validated", 3600.0),
    ("test_metrika_sync_validation_timeout", 3.0),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, params=PARAMS):
        SimpleOrdersUploadOperator(
            task_id="sync",
            counter_id="{{ params.counter_id }}",
            path="{{ params.orders_uri }}",
            changed_only=True,
            sync_state="{{ params.sync_state }}",
            timezone="Europe/Moscow",
            wait_for_validation=True,
            deferrable=True,
            poll_interval=1,
            timeout=timeout,
            retries=0,
        )

with test_dag(
    "test_metrika_sync_parts",
    params=PARAMS,
):
    SimpleOrdersUploadOperator(
        task_id="sync",
        counter_id="{{ params.counter_id }}",
        path="{{ params.orders_uri }}",
        changed_only=True,
        sync_state="{{ params.sync_state }}",
        timezone="Europe/Moscow",
        max_part_bytes=2048,
        retries=0,
    )

with test_dag(
    "test_metrika_sync_retry",
    params=PARAMS,
):
    SimpleOrdersUploadOperator(
        task_id="sync",
        counter_id="{{ params.counter_id }}",
        path="{{ params.orders_uri }}",
        changed_only=True,
        sync_state="{{ params.sync_state }}",
        timezone="Europe/Moscow",
        max_part_bytes=2048,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with test_dag(
    "test_metrika_sync_then_wait",
    params=PARAMS,
):
    upload = SimpleOrdersUploadOperator(
        task_id="sync",
        counter_id="{{ params.counter_id }}",
        path="{{ params.orders_uri }}",
        changed_only=True,
        sync_state="{{ params.sync_state }}",
        timezone="Europe/Moscow",
        retries=0,
    )
    for mode, deferrable in (("poke", False), ("reschedule", False), ("poke", True)):
        waiting = MetrikaUploadingSensor(
            task_id=f"wait_{'deferred' if deferrable else mode}",
            uploading_ids=upload.output,
            counter_id="{{ params.counter_id }}",
            mode=mode,
            deferrable=deferrable,
            poke_interval=1,
            timeout=120,
        )
        upload >> waiting
