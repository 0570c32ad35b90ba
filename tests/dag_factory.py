"""The one way test DAGs are declared: unscheduled, never caught up, with the same start date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG

#: Every test DAG's start date: runs are triggered by the tests, never by the schedule.
START = datetime(2024, 1, 1)


def test_dag(dag_id: str, **kwargs: Any) -> DAG:
    """
    Return a DAG that only the tests run: no schedule, no catch-up, a fixed start date.

    :param dag_id: the DAG's id.
    :param kwargs: more ``DAG`` arguments (``params``, ``user_defined_macros``...).
    """
    return DAG(dag_id=dag_id, schedule=None, start_date=START, catchup=False, **kwargs)


test_dag.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test
