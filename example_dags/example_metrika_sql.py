"""
Yesterday's orders from a warehouse table, selected with the run's data interval, uploaded daily.

Works with any common.sql database connection (Postgres, ClickHouse, Snowflake, SQLite ...):
rows are fetched in batches, never held whole. Here the connection ``orders_warehouse`` is a
SQLite file with a table ``orders``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

COUNTER_ID = 12345

ORDERS_OF_THE_INTERVAL = """
SELECT order_id AS id,
       created_at AS create_date_time,
       customer_id AS client_uniq_id,
       email AS emails,
       phone AS phones,
       status AS order_status,
       amount AS revenue,
       currency
FROM orders
WHERE created_at >= '{{ data_interval_start.strftime("%Y-%m-%d %H:%M:%S") }}'
  AND created_at < '{{ data_interval_end.strftime("%Y-%m-%d %H:%M:%S") }}'
ORDER BY created_at
"""


@dag(
    dag_id="example_metrika_sql",
    # A data-interval timetable: each run covers the day before it, [start, end).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["metrika", "example"],
)
def example_metrika_sql() -> None:
    """Upload the orders created in the run's data interval."""
    SimpleOrdersUploadOperator(
        task_id="upload_orders",
        counter_id=COUNTER_ID,
        sql=ORDERS_OF_THE_INTERVAL,
        sql_conn_id="orders_warehouse",
        merge_mode="SAVE",
    )


example_metrika_sql()
