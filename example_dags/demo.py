"""
``make demo``: run the DataFrame example DAG with ``airflow dags test`` against a local emulator.

Starts the Metrika emulator on a free loopback port, points ``metrika_default`` at it, prepares
an Airflow home under ``.demo/`` (SQLite), runs ``example_metrika_dataframe`` (an ``@task``
building orders, then ``SimpleOrdersUploadOperator``), prints the task's summary and what the
emulator stored, and stops the emulator. No Yandex account needed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_HOME = HERE.parent / ".demo" / "airflow"
DEMO_TOKEN = "demo-token"
DEMO_COUNTER = 12345
DAG_ID = "example_metrika_dataframe"
# A log record's structlog suffix: "[logger.name] loc=file.py:123".
_LOG_SUFFIX = re.compile(r"\s*\[[\w.]+\]\s+loc=\S+$")
_LOG_PREFIX = re.compile(r"^\S+Z \[\w+\s*\] ")


def _airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, check=False
    )


def _task_summary(output: str) -> list[str]:
    """Pick the operator's own log lines (report and summary) out of the run's output."""
    lines, keep = [], False
    for line in output.splitlines():
        if "Orders prepared for counter" in line or "Metrika upload summary" in line:
            keep = True
        if keep:
            lines.append(_LOG_SUFFIX.sub("", _LOG_PREFIX.sub("", line)))
            keep = not _LOG_SUFFIX.search(line)
    return lines


def main() -> int:
    """Run the demo; return the process exit code."""
    from airflow_provider_metrika.emulator.testing import run_emulator

    DEMO_HOME.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(DEMO_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(HERE),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    if not (DEMO_HOME / "airflow.db").exists():
        print("Preparing a local Airflow home (SQLite) in .demo/airflow ...")
        migrated = _airflow(["db", "migrate"], env)
        if migrated.returncode:
            print(migrated.stdout[-3000:], migrated.stderr[-3000:])
            return migrated.returncode
    with run_emulator(tokens={DEMO_TOKEN: None}, counters={DEMO_COUNTER: "Europe/Moscow"}) as emulator:
        print(f"Metrika emulator running at {emulator.base_url}")
        env["AIRFLOW_CONN_METRIKA_DEFAULT"] = json.dumps(
            {"conn_type": "metrika", "host": emulator.base_url, "password": DEMO_TOKEN}
        )
        print(f"airflow dags test {DAG_ID} ...")
        run = _airflow(["dags", "test", DAG_ID], env)
        print("\n".join(_task_summary(run.stdout)))
        if run.returncode or "state=success" not in run.stdout:
            print(run.stdout[-5000:], run.stderr[-3000:])
            print("The DAG run failed.")
            return run.returncode or 1
        uploadings = emulator.uploadings(DEMO_COUNTER)
        stored = emulator.orders(DEMO_COUNTER)
        print(f"Emulator: {len(uploadings)} uploading(s), status {uploadings[0]['api_validation_status']}")
        print(f"Emulator: orders stored for counter {DEMO_COUNTER}: {', '.join(sorted(stored['orders']))}")
    print("DAG run succeeded; emulator stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
