"""The delivery suite's ``airflow dags test`` environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import COUNTER, connection_json

DAGS = Path(__file__).resolve().parent / "dags"


def delivery_env(dag_env: dict[str, str], base_url: str, **extra: Any) -> dict[str, str]:
    """Return ``dags test``'s environment on the delivery DAGs; a lost answer is looked for during 1 s."""
    settings = {"retry_delay": 0.05, "max_retry_delay": 0.5, "lost_answer_wait": 1, **extra}
    return {
        **dag_env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW_CONN_METRIKA_DEFAULT": connection_json(base_url, counter_id=COUNTER, **settings),
    }
