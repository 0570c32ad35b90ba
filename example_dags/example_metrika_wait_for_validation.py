"""
Upload orders to Yandex Metrika, then wait in the triggerer until Metrika has validated them.

:class:`SimpleOrdersUploadOperator` returns a list of uploading objects; the deferrable
:class:`MetrikaUploadingSensor` takes that output as is and waits without holding a worker slot
(the upload itself is never deferred). Both use the ``metrika_default`` connection and name the
counter, so the connection needs no default counter.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import dag

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor

COUNTER_ID = 12345  # your counter's number, as in https://metrika.yandex.ru/dashboard?id=12345
SAMPLE_ORDERS = Path(__file__).resolve().parent / "data" / "sample_orders.csv"


@dag(
    dag_id="example_metrika_wait_for_validation",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "metrika"],
)
def example_metrika_wait_for_validation() -> None:
    """Upload the sample orders file and wait for its validation."""

    upload = SimpleOrdersUploadOperator(
        task_id="upload_orders", counter_id=COUNTER_ID, path=str(SAMPLE_ORDERS), merge_mode="SAVE"
    )

    MetrikaUploadingSensor(
        task_id="wait_for_validation",
        uploading_ids=upload.output,
        counter_id=COUNTER_ID,
        deferrable=True,
        poke_interval=10,
        timeout=30 * 60,
    )


example_metrika_wait_for_validation()
