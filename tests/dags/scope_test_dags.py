"""DAGs that only the scope tests run: one upload task per token kind, and the counter's zone."""

from __future__ import annotations

from airflow.sdk import Param

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.dag_factory import test_dag

#: Each names a connection ``metrika_scope_<name>`` whose token has some scopes only (set by the test).
SCOPE_CONNECTIONS = ("uploadonly", "writeonly", "readonly", "uploadread", "writeread", "noscope", "revoked")

with test_dag(
    "test_metrika_scopes",
    params={"orders_uri": Param("", type="string")},
):
    for name in SCOPE_CONNECTIONS:
        for given in (True, False):
            SimpleOrdersUploadOperator(
                task_id=f"{name}_{'timezone_given' if given else 'timezone_read'}",
                metrika_conn_id=f"metrika_scope_{name}",
                counter_id=12345,
                path="{{ params.orders_uri }}",
                timezone="Europe/Moscow" if given else None,
                wait_for_validation=True,
                poll_interval=0.5,
                timeout=60,
            )

with test_dag(
    "test_metrika_source_timezone",
    params={"orders_uri": Param("", type="string"), "source_timezone": Param("", type="string")},
):
    SimpleOrdersUploadOperator(
        task_id="upload_utc_warehouse",
        counter_id=12345,
        path="{{ params.orders_uri }}",
        source_timezone="{{ params.source_timezone }}",
        on_invalid="skip",
        max_invalid_fraction=0.5,
    )
