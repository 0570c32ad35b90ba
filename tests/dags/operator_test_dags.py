"""DAGs that only the tests run: retries after a failed part, bad data, an empty input."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.dag_factory import test_dag

with test_dag(
    "test_metrika_upload_retry",
    params={"orders_uri": Param("", type="string"), "max_part_bytes": Param(2048, type="integer")},
    render_template_as_native_obj=True,
):
    SimpleOrdersUploadOperator(
        task_id="upload_in_parts",
        counter_id=12345,
        path="{{ params.orders_uri }}",
        max_part_bytes=2048,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with test_dag(
    "test_metrika_upload_once",
    params={"orders_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload",
        counter_id="{{ 12340 + 5 }}",
        path="{{ params.orders_uri }}",
        merge_mode="{{ 'up' ~ 'date' }}",
        timezone="Asia/Yekaterinburg",
    )

with test_dag(
    "test_metrika_upload_and_wait",
    params={"orders_uri": Param("", type="string")},
):
    for deferrable in (False, True):
        SimpleOrdersUploadOperator(
            task_id=f"upload_and_wait_{'deferred' if deferrable else 'polling'}",
            path="{{ params.orders_uri }}",
            wait_for_validation=True,
            deferrable=deferrable,
            poll_interval=0.5,
            timeout=120,
        )

with test_dag(
    "test_metrika_upload_skip_invalid",
    params={"orders_uri": Param("", type="string"), "rejects_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload_valid_rows",
        path="{{ params.orders_uri }}",
        on_invalid="skip",
        max_invalid_fraction=0.5,
        rejects_path="{{ params.rejects_uri }}",
        timezone="Europe/Moscow",
    )

with test_dag(
    "test_metrika_upload_templated_mappings",
    params={
        "orders_uri": Param("", type="string"),
        "columns": Param({}, type="object"),
        "status_map": Param({}, type="object"),
    },
):
    # Rendered without native objects: the mappings arrive as their Python repr, and are read back.
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        columns="{{ params.columns }}",
        status_map="{{ params.status_map | tojson }}",
        timezone="Europe/Moscow",
    )

with test_dag(
    "test_metrika_upload_too_many_rejects",
    params={"orders_uri": Param("", type="string"), "rejects_uri": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload_valid_rows",
        path="{{ params.orders_uri }}",
        on_invalid="skip",
        max_invalid_fraction=0.1,
        rejects_path="{{ params.rejects_uri }}",
        timezone="Europe/Moscow",
    )
