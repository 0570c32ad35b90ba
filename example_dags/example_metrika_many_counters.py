"""
An agency with many counters: one mapped upload per counter, spread over the workers.

``SimpleOrdersUploadOperator.partial(...).expand(counter_id=[...])`` makes one task instance per
counter; each reads its own file from shared storage (``{{ task.counter_id }}`` renders to the
instance's counter), so no task relies on files another task left on a local disk.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import dag

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_IDS = [12345, 67890]
ORDERS_DIR_URI = f"file://{Path(__file__).resolve().parent / 'data' / 'agency'}"


@dag(
    dag_id="example_metrika_many_counters",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["metrika", "example"],
)
def example_metrika_many_counters() -> None:
    """Upload each counter's orders in its own mapped task."""
    SimpleOrdersUploadOperator.partial(
        task_id="upload_orders",
        path=ORDERS_DIR_URI + "/counter_{{ task.counter_id }}.csv",
        merge_mode="SAVE",
    ).expand(counter_id=COUNTER_IDS)


example_metrika_many_counters()
