"""Run the real Airflow CLI (``airflow dags test`` and friends) from tests, and read the metadata DB."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"


@dataclass(frozen=True)
class CliResult:
    """What one Airflow CLI call printed and returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, for assertions and failure messages."""
        return self.stdout + "\n" + self.stderr


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """Return the environment of an Airflow CLI call on ``home`` with the example DAGs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
    )
    env.update(extra)
    return env


def run_airflow(args: list[str], env: dict[str, str], timeout: float = 600) -> CliResult:
    """
    Run ``airflow <args>`` in its own process group; kill the whole group on timeout.

    :param args: the CLI arguments after ``airflow``.
    :param env: the environment (see :func:`airflow_env`).
    :param timeout: seconds before the group is killed and the test fails.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"airflow {' '.join(args)} timed out\n{stdout[-4000:]}\n{stderr[-4000:]}"
        ) from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return CliResult(process.returncode, stdout, stderr)


class MetadataDb:
    """Read-only look at an Airflow home's SQLite metadata DB: runs, task states, XComs."""

    def __init__(self, home: Path) -> None:
        self.path = home / "airflow.db"

    def _query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        # closing(): a sqlite3 connection's own ``with`` commits but leaves it open.
        with closing(sqlite3.connect(self.path)) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, params))

    def latest_run_id(self, dag_id: str) -> str:
        """Return the id of the DAG's newest run."""
        rows = self._query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", dag_id)
        assert rows, f"no run of {dag_id}"
        return str(rows[0]["run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        """Return a DAG run's state."""
        rows = self._query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return str(rows[0]["state"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Return each task's state in a run (mapped tasks as ``task_id[i]``)."""
        rows = self._query(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        return {
            (r["task_id"] if r["map_index"] < 0 else f"{r['task_id']}[{r['map_index']}]"): r["state"]
            for r in rows
        }

    def task_tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> int:
        """Return how many tries a task (or one mapped instance of it) made."""
        rows = self._query(
            "SELECT try_number FROM task_instance"
            " WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ?",
            dag_id,
            run_id,
            task_id,
            map_index,
        )
        return int(rows[0]["try_number"])

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        """Return an XCom value, JSON-decoded."""
        rows = self._query(
            "SELECT value FROM xcom"
            " WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = ? AND map_index = ?",
            dag_id,
            run_id,
            task_id,
            key,
            map_index,
        )
        assert rows, f"no XCom {key} of {task_id}"
        value = rows[0]["value"]
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def asset_events(self, uri: str) -> int:
        """Return how many events an asset has had."""
        rows = self._query(
            "SELECT COUNT(*) AS n FROM asset_event e JOIN asset a ON e.asset_id = a.id WHERE a.uri = ?", uri
        )
        return int(rows[0]["n"])

    def all_xcom_values(self) -> list[str]:
        """Return every stored XCom value as text (for secret-hygiene checks)."""
        return [str(r["value"]) for r in self._query("SELECT value FROM xcom")]

    def rendered_fields(self) -> list[str]:
        """Return every rendered template field row as text."""
        return [
            str(r["rendered_fields"])
            for r in self._query("SELECT rendered_fields FROM rendered_task_instance_fields")
        ]

    def trigger_kwargs(self) -> list[str]:
        """Return every trigger row's kwargs as stored."""
        return [str(r["kwargs"]) for r in self._query("SELECT kwargs FROM trigger")]
