"""
A daily sync of a whole orders table that changes a little every day: only what changed is sent.

No ``updated_at`` is needed: each run reads the whole table (in batches), normalises it, and
compares every order with a fingerprint of the row last accepted for it, kept in ``sync_state``
(one Parquet file per counter, here on local disk; ``s3://...`` or any ``ObjectStoragePath`` works
the same). New and changed orders are uploaded; the rest are counted and skipped. The state moves
only once Metrika accepted the upload, so a failed run is simply sent again by the next one.
Trigger with ``full_refresh`` set to send every order and rebuild the state.

The connection ``orders_warehouse`` is any common.sql database (here a SQLite file with a table
``orders``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime

from airflow.sdk import Param, dag

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_ID = 12345
#: Where the sync state is kept: a directory or bucket prefix, e.g. ``s3://aws_default@bucket/metrika-state/``.
SYNC_STATE = os.environ.get("METRIKA_SYNC_STATE", os.path.join(tempfile.gettempdir(), "metrika-sync-state"))

ALL_ORDERS = """
SELECT order_id AS id,
       created_at AS create_date_time,
       customer_id AS client_uniq_id,
       email AS emails,
       phone AS phones,
       status AS order_status,
       amount AS revenue,
       currency
FROM orders
"""


@dag(
    dag_id="example_metrika_changed_only",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    # One sync at a time per counter: two overlapping runs would both send the same changes.
    max_active_runs=1,
    params={"full_refresh": Param(False, type="boolean", description="send every order, rebuild the state")},
    tags=["metrika", "example"],
)
def example_metrika_changed_only() -> None:
    """Send the orders that are new or changed since the last accepted sync."""
    SimpleOrdersUploadOperator(
        task_id="sync_orders",
        counter_id=COUNTER_ID,
        sql=ALL_ORDERS,
        sql_conn_id="orders_warehouse",
        merge_mode="SAVE",
        changed_only=True,
        sync_state=SYNC_STATE,
        full_refresh="{{ params.full_refresh }}",
    )


example_metrika_changed_only()
