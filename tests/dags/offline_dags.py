"""DAGs of the offline conversions and calls suite: a DataFrame from an upstream task, waited on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from airflow.sdk import task

from airflow_provider_metrika.operators.offline_conversions import (
    MetrikaCallsUploadOperator,
    MetrikaOfflineConversionsUploadOperator,
)
from tests.dag_factory import test_dag

WAIT: dict[str, Any] = {"wait_for_processing": True, "deferrable": True, "poll_interval": 0.5, "timeout": 120}


def _recent(n: int) -> list[datetime]:
    """Times within the last hour: inside the 21-day window, never in the future."""
    now = datetime.now(UTC)
    return [now - timedelta(minutes=10 + i) for i in range(n)]


with test_dag("test_offline_conversions_dataframe"):

    @task(show_return_value_in_logs=False)
    def conversions() -> pd.DataFrame:
        """Paid orders of the last hour, by the visitors' ClientId."""
        return pd.DataFrame(
            {
                "target": ["oplata_cash", "dostavka", "oplata_cash"],
                "date_time": _recent(3),
                "client_id": ["1704791234123456789", "1704795678123456789", "1704799999123456789"],
                "price": [1200.5, 300.0, 99.9],
                "currency": ["RUB", "RUB", "EUR"],
            }
        )

    MetrikaOfflineConversionsUploadOperator(
        task_id="upload", dataframe=conversions(), columns={"date_time": "DateTime"}, **WAIT
    )

with test_dag("test_calls_dataframe"):

    @task(show_return_value_in_logs=False)
    def calls() -> pd.DataFrame:
        """Calls of the last hour from a call tracker."""
        return pd.DataFrame(
            {
                "DateTime": _recent(2),
                "Yclid": ["5551234567890", "5559876543210"],
                "TalkDuration": [95, 0],
                "CallMissed": [False, True],
                "PhoneNumber": ["+7 495 123-45-67", "+74957654321"],
            }
        )

    MetrikaCallsUploadOperator(task_id="upload", dataframe=calls(), **WAIT)
