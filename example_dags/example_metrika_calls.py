"""
A call-tracking export (a CSV file) sent to Metrika as calls.

Calls go to the counter's calls goal (``new_goal_name`` names it when the counter has none yet).
Metrika documents no de-duplication of calls: a lost answer is resolved by the upload's comment,
and a call is never sent twice blindly. Static calls (``StaticCall=1``) are reported but never
linked to visits.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import Param, dag

from airflow_provider_metrika.operators.offline_conversions import MetrikaCallsUploadOperator

COUNTER_ID = 12345
#: The export's columns: the call time, the visitor's ClientId, and what the call tracker knows.
EXPORT = str(Path(__file__).parent / "data" / "calls_export.csv")


@dag(
    dag_id="example_metrika_calls",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"calls_uri": Param(EXPORT, type="string")},
    tags=["metrika", "example"],
)
def example_metrika_calls() -> None:
    """Send the export's calls; the tracker's column names are mapped to Metrika's."""
    MetrikaCallsUploadOperator(
        task_id="upload_calls",
        counter_id=COUNTER_ID,
        path="{{ params.calls_uri }}",
        columns={"call_time": "DateTime", "metrika_client_id": "ClientId", "duration": "TalkDuration"},
        new_goal_name="Calls",
        timezone="Europe/Moscow",
    )


example_metrika_calls()
