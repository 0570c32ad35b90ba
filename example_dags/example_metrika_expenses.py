"""
A day's ad spend from a warehouse table, replacing this pipeline's expenses in Metrika, daily.

Metrika imports Yandex Direct's costs itself; every other network's spend (VK Ads, Google Ads,
marketplaces, offline campaigns) must be uploaded for its ROI reports. The operator makes Metrika
hold exactly the day's rows for ``provider``: it deletes this provider's expenses on the day (so a
re-run, a retry or a Clear never adds them twice, and a day without spend is cleared too), waits
until Metrika has processed the delete, uploads, and waits again. Another provider's or team's
expenses are never touched.

Here ``orders_warehouse`` is a SQLite file with a table ``ad_spend``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_metrika.operators.expenses import MetrikaExpensesUploadOperator

COUNTER_ID = 12345
#: Seconds between two looks at an upload's processing.
POLL_SECONDS = float(os.environ.get("METRIKA_POLL_SECONDS", "30"))
DAY = "{{ data_interval_start.strftime('%Y-%m-%d') }}"

SPEND_OF_THE_DAY = f"""
SELECT day AS Date,
       source AS UTMSource,
       medium AS UTMMedium,
       campaign AS UTMCampaign,
       spend AS Expenses,
       'RUB' AS Currency,
       clicks AS Clicks
FROM ad_spend
WHERE day = '{DAY}'
ORDER BY source, campaign
"""


@dag(
    dag_id="example_metrika_expenses",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["metrika", "example"],
)
def example_metrika_expenses() -> None:
    """Replace the day's expenses of the ``vk_ads_dwh`` pipeline."""
    MetrikaExpensesUploadOperator(
        task_id="replace_expenses",
        counter_id=COUNTER_ID,
        provider="vk_ads_dwh",
        sql=SPEND_OF_THE_DAY,
        sql_conn_id="orders_warehouse",
        # The day replaced, whether or not it had spend.
        date_range=f"{DAY}/{DAY}",
        poll_interval=POLL_SECONDS,
        check_totals="warn",
        retries=1,
    )


example_metrika_expenses()
