"""One upload task per bad orders file of the catalogue: every task must fail before sending anything."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.reliability.bad_inputs import BAD_FILES

with DAG(
    dag_id="test_metrika_bad_inputs",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"files_dir": Param("", type="string")},
):
    for bad in BAD_FILES:
        SimpleOrdersUploadOperator(
            task_id=bad.task_id,
            path="{{ params.files_dir }}/" + bad.task_id + ".csv",
            # The time zone is given, so that not even the counter's is asked: a bad file sends nothing.
            **{"counter_id": 12345, "timezone": "Europe/Moscow", **bad.options},
        )
