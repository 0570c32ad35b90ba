"""A feature whose extra is not installed fails with a message naming the extra, not a bare ImportError."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.airflow_cli import REPO

#: Run in a fresh interpreter where the given package cannot be imported, as if it were not installed.
PROBE = """
import json, sys
sys.modules[{blocked!r}] = None
try:
{call}
except Exception as exc:
    print(json.dumps({{"type": type(exc).__name__, "message": str(exc)}}))
"""


def _error(blocked: str, call: str) -> dict[str, str]:
    code = PROBE.format(blocked=blocked, call="\n".join("    " + line for line in call.splitlines()))
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_sql_input_without_common_sql_names_the_common_sql_extra() -> None:
    error = _error(
        "airflow.providers.common.sql.hooks.sql",
        "from airflow_provider_metrika.operators._inputs import sql_batches\n"
        "next(sql_batches('warehouse', 'SELECT 1', None, 10))",
    )

    assert error["type"] == "MetrikaMissingExtraError"
    assert error["message"].startswith(
        "sql= needs apache-airflow-providers-common-sql, which is not installed"
    )
    assert error["message"].endswith("pip install 'airflow-provider-metrika[common.sql]'")


def test_openlineage_facets_without_the_openlineage_packages_name_the_openlineage_extra() -> None:
    error = _error(
        "airflow.providers.common.compat.openlineage",
        "import airflow_provider_metrika.operators._lineage",
    )

    assert error["type"] == "MetrikaMissingExtraError"
    assert (
        "apache-airflow-providers-openlineage and apache-airflow-providers-common-compat" in error["message"]
    )
    assert error["message"].endswith("pip install 'airflow-provider-metrika[openlineage]'")
