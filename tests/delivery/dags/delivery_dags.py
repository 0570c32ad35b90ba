"""DAGs of the delivery suite: uploads with Airflow retries, mapped uploads on one counter, a wait."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param

from airflow_provider_metrika.operators.offline_conversions import (
    MetrikaCallsUploadOperator,
    MetrikaOfflineConversionsUploadOperator,
)
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor
from tests.dag_factory import test_dag

PARAMS = {
    "orders_uri": Param("", type="string"),
    "merge_mode": Param("SAVE", type="string"),
    "conn_id": Param("metrika_default", type="string"),
}

with test_dag(
    "delivery_upload",
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


def _fail_once(context: Any, result: Any = None) -> None:
    """Fail the first try after its ``execute`` returned, as a post_execute or an XCom backend may."""
    marker = Path(str(context["params"]["marker"]))
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("post_execute failed after the upload was accepted")


with test_dag(
    "delivery_fails_after_execute",
    params={**PARAMS, "merge_mode": Param("APPEND", type="string"), "marker": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        timezone="Europe/Moscow",
        post_execute=_fail_once,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )


def _label_after_first_try(ti: Any) -> str:
    """A map index label that fails on the first try (rendered again after ``execute`` returned)."""
    if ti.try_number == 1:
        raise RuntimeError("map_index_template failed after the upload was accepted")
    return f"counter {ti.map_index}"


with test_dag(
    "delivery_map_index_fails",
    params={**PARAMS, "merge_mode": Param("APPEND", type="string")},
    user_defined_macros={"label": _label_after_first_try},
):
    SimpleOrdersUploadOperator.partial(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        timezone="Europe/Moscow",
        map_index_template="{{ label(ti) }}",
        retries=1,
        retry_delay=timedelta(seconds=0),
    ).expand(counter_id=[12345])

with test_dag(
    "delivery_upload_on_connection",
    params=PARAMS,
):
    # The connection is read when the task runs: Clear after changing it sends to the new counter.
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        metrika_conn_id="metrika_delivery",
        timezone="Europe/Moscow",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with test_dag(
    "delivery_mapped",
    params={"orders_dir": Param("", type="string")},
):
    # Two task instances on one counter, each with its own file (orders-0.csv, orders-1.csv).
    SimpleOrdersUploadOperator.partial(
        task_id="upload",
        path="{{ params.orders_dir }}/orders-{{ ti.map_index }}.csv",
        timezone="Europe/Moscow",
        retries=2,
        retry_delay=timedelta(seconds=0),
    ).expand(counter_id=[12345, 12345])

with test_dag(
    "delivery_upload_and_wait",
    params=PARAMS,
):
    upload = SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        timezone="Europe/Moscow",
    )
    MetrikaUploadingSensor(
        task_id="wait_for_validation",
        uploading_ids=upload.output,
        deferrable=True,
        poke_interval=1,
        timeout=600,
    )

with test_dag(
    "delivery_pos_export",
    params={**PARAMS, "merge_mode": Param("APPEND", type="string"), "archive_uri": Param("", type="string")},
):
    # Small parts (two rows each) of a POS export without order ids, kept at archive_uri when given.
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        merge_mode="{{ params.merge_mode }}",
        timezone="Europe/Moscow",
        max_part_bytes=100,
        archive_path="{{ params.archive_uri or '' }}",
        retries=2,
        retry_delay=timedelta(seconds=0),
    )

with test_dag(
    "delivery_force_resend_param",
    params={**PARAMS, "force_resend": Param(False, type="boolean")},
):
    # force_resend for one run, from the run's params: never in the DAG file.
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        timezone="Europe/Moscow",
        force_resend="{{ params.force_resend }}",
        retries=2,
        retry_delay=timedelta(seconds=0),
    )

with test_dag(
    "delivery_rejects",
    params={**PARAMS, "rejects_uri": Param("", type="string")},
):
    # A templated rejects_path in a folder of the run's date, which does not exist yet.
    SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.orders_uri }}",
        timezone="Europe/Moscow",
        on_invalid="skip",
        max_invalid_fraction=0.1,
        rejects_path="{{ params.rejects_uri }}",
        retries=2,
        retry_delay=timedelta(seconds=0),
    )


for dag_id, kind in (
    ("delivery_conversions_upload", MetrikaOfflineConversionsUploadOperator),
    ("delivery_calls_upload", MetrikaCallsUploadOperator),
):
    with test_dag(dag_id, params={"uri": Param("", type="string")}):
        kind(
            task_id="upload",
            path="{{ params.uri }}",
            timezone="Europe/Moscow",
            retries=2,
            retry_delay=timedelta(seconds=0),
        )
