"""DAG files parse light: the provider's Airflow modules load no pandas, pyarrow or orders core."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.airflow_cli import REPO

MODULES = (
    "airflow_provider_metrika.operators.simple_orders",
    "airflow_provider_metrika.sensors.uploading",
    "airflow_provider_metrika.hooks.metrika",
    "airflow_provider_metrika.triggers.uploading",
    # The delivery engine serves every Metrika upload: it knows no file format.
    "airflow_provider_metrika.delivery.engine",
    "airflow_provider_metrika.delivery.resolve",
    "airflow_provider_metrika.delivery.task_journal",
    "airflow_provider_metrika.waiting.poll",
)
HEAVY = ("pandas", "pyarrow", "numpy", "airflow_provider_metrika.simple_orders")


def test_importing_the_operator_sensor_hook_and_trigger_loads_no_pandas_pyarrow_or_core() -> None:
    code = (
        f"import importlib, json, sys\nfor m in {MODULES!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    # A fresh interpreter: this test session has long imported pandas.
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
