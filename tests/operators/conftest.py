"""Fixtures of the operator tests that run the ``changed_only`` test DAGs."""

from __future__ import annotations

import pytest

from tests.operators.sync_runs import TEST_DAGS


@pytest.fixture
def sync_env(dag_env: dict[str, str]) -> dict[str, str]:
    """The ``airflow dags test`` environment with the test DAGs as the DAG folder."""
    return {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
