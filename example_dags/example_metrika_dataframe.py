"""
Orders built by an upstream ``@task`` as a pandas DataFrame, uploaded to Metrika.

The DataFrame travels through XCom (serialised as parquet: the worker needs pyarrow, which the
provider installs). Fine for thousands of orders; for millions, hand the operator a file or a
query instead (see the object storage and SQL examples).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from airflow.sdk import Asset, dag, task

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_ID = 12345  # your counter's number, as in https://metrika.yandex.ru/dashboard?id=12345
#: Downstream DAGs (reports, attribution) can be scheduled on this asset.
COUNTER_ORDERS = Asset(name="metrika_counter_12345_orders", uri=f"metrika://counter/{COUNTER_ID}/orders")


@dag(
    dag_id="example_metrika_dataframe",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["metrika", "example"],
)
def example_metrika_dataframe() -> None:
    """Build a DataFrame of orders and upload it."""

    # The frame holds emails and phones: keep its repr out of the task log.
    @task(show_return_value_in_logs=False)
    def build_orders() -> pd.DataFrame:
        """Stand in for a warehouse query: a few orders in CRM shape."""
        return pd.DataFrame(
            {
                "id": ["web-1001", "web-1002", "web-1003"],
                "create_date_time": pd.to_datetime(
                    ["2024-01-09 08:15:00", "2024-01-09 09:40:00", "2024-01-09 10:05:00"]
                ).tz_localize("UTC"),
                "client_uniq_id": ["C-17", "C-18", "C-19"],
                "emails": ["Anna.Petrova@Example.com", "ivan@example.org", None],
                "phones": ["+7 (999) 555-11-11", None, "+7 912 000-22-33"],
                "order_status": ["PAID", "IN_PROGRESS", "paid"],
                "revenue": [1200.5, 560.0, 99.9],
                "currency": ["RUB", "RUB", "EUR"],
            }
        )

    SimpleOrdersUploadOperator(
        task_id="upload_orders",
        counter_id=COUNTER_ID,
        dataframe=build_orders(),
        merge_mode="SAVE",
        outlets=[COUNTER_ORDERS],
    )


example_metrika_dataframe()
