"""
Yesterday's paid orders from a warehouse table, sent to Metrika as offline conversions, daily.

Offline conversions tell Metrika (and Yandex Direct) that a visitor later bought offline or by
phone, so that ad spend optimises on real sales. Each conversion needs a ``Target`` (the identifier
of one of the counter's JavaScript-event goals), a ``DateTime`` and one identifier of the visitor:
here the CRM's customer id, which the site passes to Metrika with ``setUserID`` (``UserId``).

Works with any common.sql connection; here ``orders_warehouse`` is a SQLite file with a table
``orders``. The task waits, in the triggerer, until Metrika has processed the upload (up to a few
hours), then logs rows sent, kept and linked, and fails when Metrika dropped rows or linked none.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_metrika.operators.offline_conversions import MetrikaOfflineConversionsUploadOperator

COUNTER_ID = 12345
#: Seconds between two looks at the upload's processing: Metrika takes minutes to hours.
POLL_SECONDS = float(os.environ.get("METRIKA_POLL_SECONDS", "300"))

PAID_ORDERS_OF_THE_INTERVAL = """
SELECT 'oplata_cash' AS Target,
       created_at AS DateTime,
       customer_id AS UserId,
       amount AS Price,
       currency AS Currency
FROM orders
WHERE status = 'PAID'
  AND created_at >= '{{ data_interval_start.strftime("%Y-%m-%d %H:%M:%S") }}'
  AND created_at < '{{ data_interval_end.strftime("%Y-%m-%d %H:%M:%S") }}'
ORDER BY created_at
"""


@dag(
    dag_id="example_metrika_offline_conversions",
    # Each run covers the day before it, [start, end).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["metrika", "example"],
)
def example_metrika_offline_conversions() -> None:
    """Send the interval's paid orders as offline conversions and wait until Metrika processed them."""
    MetrikaOfflineConversionsUploadOperator(
        task_id="upload_conversions",
        counter_id=COUNTER_ID,
        sql=PAID_ORDERS_OF_THE_INTERVAL,
        sql_conn_id="orders_warehouse",
        # The warehouse stores naive UTC times.
        source_timezone="UTC",
        wait_for_processing=True,
        deferrable=True,
        poll_interval=POLL_SECONDS,
    )


example_metrika_offline_conversions()
