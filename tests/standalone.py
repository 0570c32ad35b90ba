"""
``airflow standalone`` for tests and tooling: start it on loopback, talk to its API, stop its whole tree.

Scheduler, DAG processor, triggerer and API server run as separate processes with a throw-away
AIRFLOW_HOME. Used by the deployment tests, ``docs/screenshots.py`` and the compatibility job (``compat/``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import psutil
import requests

from tests.airflow_cli import MetadataDb, airflow_env

#: Seconds between SIGTERM and SIGKILL when stopping.
STOP_GRACE = 20


class StandaloneError(RuntimeError):
    """The deployment exited or did not reach an awaited state."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Standalone:
    """
    ``airflow standalone`` in its own session, its output in a file.

    :param home: the AIRFLOW_HOME.
    :param env: the environment of the process.
    :param log_path: where its stdout and stderr go.
    :param port: the API server's port.
    """

    def __init__(self, home: Path, env: dict[str, str], log_path: Path, port: int) -> None:
        self.home = home
        self.env = env
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.db = MetadataDb(home)
        self.leftovers: list[str] | None = None
        self._token: str | None = None

    def tail(self, lines: int = 60) -> str:
        """Return the last lines of the output, for failure messages."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
        """
        Return the first truthy result of ``check``, or fail with the output's tail.

        :param what: what is awaited, for the failure message.
        :param check: returns a truthy value when done; ``requests`` and SQLite errors count as "not yet".
        :param timeout: seconds to wait.
        :param every: seconds between checks.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StandaloneError(
                    f"airflow standalone exited ({self.process.returncode}) while waiting for {what}:\n"
                    f"{self.tail()}"
                )
            try:
                result = check()
            except (requests.RequestException, sqlite3.Error):
                result = None
            if result:
                return result
            time.sleep(every)
        raise StandaloneError(
            f"no {what} within {timeout:.0f} s; airflow standalone output ends with:\n{self.tail()}"
        )

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """
        Call the API server (every caller is admin: ``simple_auth_manager_all_admins``).

        Airflow 3.1 still wants a bearer token on the REST API then: one is asked for, without
        credentials, at the first 401 and sent from then on.
        """
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        response = requests.request(
            method, f"{self.base_url}/api/v2{path}", timeout=10, headers=headers, **kwargs
        )
        if response.status_code == 401 and not self._token:
            answer = requests.get(f"{self.base_url}/auth/token", timeout=10)
            if answer.ok:
                self._token = str(answer.json()["access_token"])
                return self.api(method, path, **kwargs)
        return response

    def stop(self) -> list[str]:
        """
        Stop the whole process tree and return what is still running afterwards.

        Task runners move into process groups of their own, so signalling standalone's group is
        not enough: every process of the deployment is signalled too, by pid.
        """
        if self.leftovers is not None:
            return self.leftovers
        seen = self._tree()
        for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            seen += self._tree() + self._ours()
            for process in seen:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(sig)
            _, alive = psutil.wait_procs(seen, timeout=grace)
            if not alive and not self._ours():
                break
        self.process.wait(10)
        self._log.close()
        self.leftovers = []
        for process in self._ours():
            with contextlib.suppress(psutil.Error):
                self.leftovers.append(f"{process.pid} {' '.join(process.cmdline())}")
        return self.leftovers

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _ours(self) -> list[psutil.Process]:
        """Processes of this deployment, found by its unique AIRFLOW_HOME (re-parented ones too)."""
        found = []
        for process in psutil.process_iter():
            try:
                if (
                    process.environ().get("AIRFLOW_HOME") == str(self.home)
                    and process.status() != psutil.STATUS_ZOMBIE
                ):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found


def standalone_env(
    home: Path, port: int, metrika_base_url: str, connection: str | None = None, **extra: str
) -> dict[str, str]:
    """
    Return the environment of ``airflow standalone`` on ``port`` with the example DAGs.

    :param home: the AIRFLOW_HOME.
    :param port: the API server's port.
    :param metrika_base_url: the emulator that ``metrika_default`` points at.
    :param connection: ``metrika_default`` in JSON form; by default the test suite's token, the
        default counter and short retry delays.
    :param extra: more variables.
    """
    if connection is None:
        # Imported here: the compatibility job loads this module without the test suite.
        from tests.conftest import connection_json

        connection = connection_json(metrika_base_url, counter_id=12345, retry_delay=0.2, max_retry_delay=2)
    base_url = f"http://127.0.0.1:{port}"
    # A task the tests kill cannot remove its parts folder: it stays with the deployment's files.
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return airflow_env(
        home,
        TMPDIR=str(tmp),
        AIRFLOW_CONN_METRIKA_DEFAULT=connection,
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=base_url,
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
        # Shared by the API server (checks tokens) and the scheduler (signs them for workers).
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__CORE__PARALLELISM="4",
        # Other example DAGs stay paused: only the one under test runs (and loads the machine).
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        # Standalone starts its components as `airflow ...`: this interpreter's one.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
        **extra,
    )


def uploading_process(base_url: str) -> Any:
    """Return the process holding a connection to the emulator at ``base_url``: a task mid-POST."""
    import psutil

    port = int(base_url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.raddr
            and connection.raddr.port == port
            and connection.status == psutil.CONN_ESTABLISHED
            and connection.pid not in (None, os.getpid())
        ):
            return psutil.Process(connection.pid)
    raise AssertionError("no process is talking to the emulator")
