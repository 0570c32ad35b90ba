"""
An orders CSV in object storage (S3, GCS, local disk ...) uploaded with emails and phones hashed.

``path`` is any ``ObjectStoragePath`` URI: ``s3://aws_default@bucket/crm/orders.csv`` uses the
``aws_default`` connection (install the amazon provider); ``file:///data/orders.csv`` reads local
disk. The file is streamed, never read whole. With ``hash_identifiers=True`` only MD5 hashes of
the normalised emails and phones leave the worker.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import Param, dag

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_ID = 12345
SAMPLE_ORDERS_URI = f"file://{Path(__file__).resolve().parent / 'data' / 'crm_orders.csv'}"


@dag(
    dag_id="example_metrika_object_storage",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"orders_uri": Param(SAMPLE_ORDERS_URI, type="string", description="CSV of CRM orders")},
    tags=["metrika", "example"],
)
def example_metrika_object_storage() -> None:
    """Map the CRM's columns and statuses to Metrika's, hash identifiers, upload."""
    SimpleOrdersUploadOperator(
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


example_metrika_object_storage()
