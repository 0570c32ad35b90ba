"""The linkage example's two tasks, unscheduled: a deployment test triggers each run itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import Param, dag

from airflow_provider_metrika.operators.linkage import MetrikaLinkageCheckOperator
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

CRM_ORDERS = Path(__file__).resolve().parents[3] / "example_dags" / "data" / "crm_orders.csv"


@dag(
    dag_id="linkage_deployment",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"settle_seconds": Param(7200, type="integer"), "min_linked_share": Param(0.5, type="number")},
)
def linkage_deployment() -> None:
    """Upload the CRM orders sample, then check its linked share in the triggerer."""
    upload = SimpleOrdersUploadOperator(
        task_id="upload_orders",
        counter_id=12345,
        path=str(CRM_ORDERS),
        columns={
            "order_id": "id",
            "created_at": "create_date_time",
            "customer_id": "client_uniq_id",
            "email": "emails",
            "phone": "phones",
            "status": "order_status",
            "amount": "revenue",
        },
        status_map={"new": "IN_PROGRESS", "shipped": "PAID"},
        hash_identifiers=True,
        rewrite_leading_8=True,
    )
    check = MetrikaLinkageCheckOperator(
        task_id="check_linkage",
        upload_task_id="upload_orders",
        settle_seconds="{{ params.settle_seconds }}",
        min_linked_share="{{ params.min_linked_share }}",
        deferrable=True,
    )
    upload >> check


linkage_deployment()
