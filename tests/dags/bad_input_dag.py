"""One upload task per bad orders file of the catalogue: every task must fail before sending anything."""

from __future__ import annotations

from airflow.sdk import Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.dag_factory import test_dag
from tests.reliability.bad_inputs import BAD_FILES

with test_dag(
    "test_metrika_bad_inputs",
    params={"files_dir": Param("", type="string")},
):
    for bad in BAD_FILES:
        SimpleOrdersUploadOperator(
            task_id=bad.task_id,
            path="{{ params.files_dir }}/" + bad.task_id + ".csv",
            # The time zone is given, so that not even the counter's is asked: a bad file sends nothing.
            **{"counter_id": 12345, "timezone": "Europe/Moscow", **bad.options},
        )
