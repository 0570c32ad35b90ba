"""
Upload the day's orders, then check how many of them Metrika tied to visits of the site.

``PASSED`` only says the file was well formed: a file whose emails were hashed wrongly, sent to a
counter that does not match visitors by email and phone, or holding orders older than 21 days is
``PASSED`` and links nothing. :class:`MetrikaLinkageCheckOperator` reads what the upload sent, waits
in the triggerer until Metrika's reports can hold it (about two hours), reads the linked orders of
those dates from the Reports API (the token needs ``metrika:read``), logs a table per day and
status, and fails when the linked share is below ``min_linked_share``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import Param, dag

from airflow_provider_metrika.operators.linkage import MetrikaLinkageCheckOperator
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_ID = 12345
CRM_ORDERS_URI = f"file://{Path(__file__).resolve().parent / 'data' / 'crm_orders.csv'}"


@dag(
    dag_id="example_metrika_linkage",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={
        "orders_uri": Param(CRM_ORDERS_URI, type="string", description="CSV of the day's CRM orders"),
        "settle_seconds": Param(7200, type="integer", minimum=0, description="wait after the upload"),
        "min_linked_share": Param(0.5, type="number", minimum=0, maximum=1),
    },
    tags=["metrika", "example"],
)
def example_metrika_linkage() -> None:
    """Upload the day's orders with hashed identifiers, then check their linked share."""
    upload = SimpleOrdersUploadOperator(
        task_id="upload_orders",
        counter_id=COUNTER_ID,
        path="{{ params.orders_uri }}",
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
        on_low="fail",
        deferrable=True,
    )
    upload >> check


example_metrika_linkage()
