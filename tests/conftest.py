"""Shared fixtures: a throw-away AIRFLOW_HOME, one emulator per test session, Metrika connections."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

#: The session's own temporary directory (``TMPDIR`` of every process it starts, pytest-xdist workers
#: included): what a test leaves behind is found here, not mixed with other programs' files.
SESSION_TMP = os.environ.get("METRIKA_TESTS_TMPDIR") or tempfile.mkdtemp(prefix="metrika-tests-tmp-")
os.environ.update({"METRIKA_TESTS_TMPDIR": SESSION_TMP, "TMPDIR": SESSION_TMP})
tempfile.tempdir = None  # read TMPDIR again
#: The folders the operator prepares parts in; none may outlive the session.
LEFTOVER_PATTERN = "metrika-orders-*"

# Airflow reads its home at import time: point it at a temporary folder before anything imports it.
AIRFLOW_HOME = tempfile.mkdtemp(prefix="metrika-tests-airflow-home-")
os.environ["AIRFLOW_HOME"] = AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from airflow_provider_metrika.emulator.testing import EmulatorClient, run_emulator  # noqa: E402
from tests.airflow_cli import MetadataDb, airflow_env, run_airflow  # noqa: E402

# Property tests: a few hundred examples in the normal run, thousands with HYPOTHESIS_PROFILE=fuzz.
_PROPERTY_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
hypothesis_settings.register_profile("default", max_examples=250, **_PROPERTY_SETTINGS)  # type: ignore[arg-type]
hypothesis_settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "3000")),
    **_PROPERTY_SETTINGS,  # type: ignore[arg-type]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TOKEN = "tok-SECRET-1b2c3d4e5f"
#: The token of the connection docs/emulator.md gives (the emulator's default token).
DOCUMENTED_TOKEN = "emulator-token"
OTHER_TOKEN = "tok-OTHER-9z8y7x"
COUNTER = 12345
OTHER_COUNTER = 67890
COUNTER_TIMEZONE = "Europe/Moscow"
READ = "metrika:read"
WRITE = "metrika:write"
OFFLINE = "metrika:offline_data"
#: Tokens issued with some scopes only, for every counter: name -> scopes.
SCOPED_TOKENS: dict[str, list[str]] = {
    "tok-UPLOADONLY-0a1b": [OFFLINE],
    "tok-WRITEONLY-2c3d": [WRITE],
    "tok-READONLY-4e5f": [READ],
    "tok-UPLOADREAD-6a7b": [OFFLINE, READ],
    "tok-WRITEREAD-8c9d": [WRITE, READ],
    "tok-NOSCOPE-0e1f": [],
}
#: Metrika's official sample file, byte for byte, as shipped for the demo.
SAMPLE_CSV = (
    Path(__file__).resolve().parent.parent / "example_dags" / "data" / "sample_orders.csv"
).read_bytes()


def pytest_itemcollected(item: pytest.Item) -> None:
    """
    Keep heavy shared set-ups on one pytest-xdist worker each (``--dist loadgroup``).

    The example DAG runs are made once for the tests that read them; the deployments (``airflow
    standalone``) run one at a time, so two never compete for the machine's cores. The group is set
    as each test is collected, before pytest-xdist reads the groups.
    """
    if "example_runs" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group("example_runs"))
    elif item.get_closest_marker("deployment") is not None:
        item.add_marker(pytest.mark.xdist_group("deployment"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the temporary AIRFLOW_HOME; fail the session if a test left a parts folder behind."""
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller checks, once every worker is done
    left = sorted(path.name for path in Path(SESSION_TMP).glob(LEFTOVER_PATTERN))
    shutil.rmtree(SESSION_TMP, ignore_errors=True)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the tests left {len(left)} temporary folder(s) behind: {', '.join(left[:5])}"
        if reporter is not None:
            reporter.write_line(f"ERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def metrika_emulator() -> Iterator[EmulatorClient]:
    """Run one emulator for the whole session: two counters, and tokens of every kind.

    A token for both counters, one for the second only, and tokens with some scopes only
    (:data:`SCOPED_TOKENS`).
    """
    scoped = {token: {"counters": None, "scopes": scopes} for token, scopes in SCOPED_TOKENS.items()}
    with run_emulator(
        tokens={TOKEN: None, OTHER_TOKEN: [OTHER_COUNTER], DOCUMENTED_TOKEN: None, **scoped},
        counters={COUNTER: COUNTER_TIMEZONE, OTHER_COUNTER: "Asia/Yekaterinburg"},
    ) as emulator:
        yield emulator


@pytest.fixture
def metrika(metrika_emulator: EmulatorClient) -> EmulatorClient:
    """Return the emulator, emptied of orders, uploadings, logged requests and faults."""
    metrika_emulator.reset()
    metrika_emulator.configure(listing_delay=0.0, status_delay=0.0, parallel_limit=None)
    return metrika_emulator


def connection_json(base_url: str, token: str = TOKEN, **extra: object) -> str:
    """Return an ``AIRFLOW_CONN_...`` value in JSON form for a Metrika connection."""
    return json.dumps({"conn_type": "metrika", "host": base_url, "password": token, "extra": extra})


def documented_connection(base_url: str) -> str:
    """
    Return the ``metrika_default`` connection docs/emulator.md tells users to export, at ``base_url``.

    Read from the page itself, so the example DAGs are tested with exactly what a user sets: no
    default counter, the emulator's default token, the connection's default retry settings.

    :param base_url: the running emulator's base URL (its port replaces the page's).
    """
    page = (Path(__file__).resolve().parent.parent / "docs" / "emulator.md").read_text(encoding="utf-8")
    found = re.search(r"export AIRFLOW_CONN_METRIKA_DEFAULT='(\{.*?\})'", page)
    assert found, "docs/emulator.md lost its metrika_default connection"
    connection = json.loads(found.group(1))
    assert urlsplit(connection["host"]).hostname == "127.0.0.1", connection
    return json.dumps({**connection, "host": base_url})


#: A token Metrika no longer accepts (401), next to the scoped ones.
REVOKED_TOKEN = "tok-REVOKED-2a3b"


def scope_connection_name(token: str) -> str:
    """Return the short name of a scoped token: ``tok-UPLOADONLY-0a1b`` -> ``uploadonly``."""
    return token.split("-")[1].lower()


def scoped_connections_env(base_url: str) -> dict[str, str]:
    """Return ``AIRFLOW_CONN_METRIKA_SCOPE_<NAME>`` for each scoped token and the revoked one."""
    return {
        f"AIRFLOW_CONN_METRIKA_SCOPE_{scope_connection_name(token).upper()}": connection_json(
            base_url, token=token, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.5
        )
        for token in [*SCOPED_TOKENS, REVOKED_TOKEN]
    }


@pytest.fixture
def metrika_conn(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """Define ``metrika_default`` (pointing at the emulator, quick retries) and return its conn id."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_DEFAULT",
        connection_json(metrika.base_url, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.5),
    )
    return "metrika_default"


@pytest.fixture
def metrika_conn_quick(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """``metrika_default`` on the emulator, with quick retries and a short look for lost answers."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_DEFAULT",
        connection_json(
            metrika.base_url, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.5, lost_answer_wait=0.5
        ),
    )
    return "metrika_default"


@pytest.fixture
def sample_csv(tmp_path: os.PathLike[str]) -> str:
    """Write the official sample file and return its path."""
    path = os.path.join(tmp_path, "sample.csv")
    with open(path, "wb") as out:
        out.write(SAMPLE_CSV)
    return path


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an Airflow home with a migrated SQLite metadata DB, shared by the session's DAG runs."""
    home = tmp_path_factory.mktemp("airflow-home")
    result = run_airflow(["db", "migrate"], airflow_env(home), timeout=300)
    assert result.returncode == 0, result.output
    return home


@pytest.fixture
def dag_env(airflow_home: Path, metrika: EmulatorClient) -> dict[str, str]:
    """Return the environment of an ``airflow dags test`` call whose metrika_default is the emulator."""
    return airflow_env(
        airflow_home,
        AIRFLOW_CONN_METRIKA_DEFAULT=connection_json(
            metrika.base_url, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.5
        ),
    )


@dataclass(frozen=True)
class ExampleRun:
    """One run of an example DAG under ``airflow dags test``, and what the emulator saw of it."""

    dag_id: str
    run_id: str
    state: str
    output: str
    db: MetadataDb
    orders: dict[int, dict[str, Any]]
    requests: list[dict[str, Any]]

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """Return an XCom value of this run."""
        return self.db.xcom(self.dag_id, self.run_id, task_id, key, map_index)

    def task_states(self) -> dict[str, str | None]:
        """Return this run's task states."""
        return self.db.task_states(self.dag_id, self.run_id)


#: Warehouse rows of the SQL example: two inside the run's data interval (2024-01-09), two outside.
WAREHOUSE_ROWS = [
    ("o-before", "2024-01-08 23:59:59", "c0", "z@example.com", None, "PAID", 1, "RUB"),
    (
        "o-in-1",
        "2024-01-09 00:00:00",
        "c1",
        "Olga.Smirnova@Example.com",
        "+7 999 555-11-11",
        "PAID",
        100.5,
        "RUB",
    ),
    ("o-in-2", "2024-01-09 18:30:00", "c2", None, "79990001122", "CANCELLED", None, None),
    ("o-after", "2024-01-10 00:00:00", "c3", "d@example.com", None, "PAID", 3, "RUB"),
]

#: An example setting: each uploading is listed only once a poll has missed it (:func:`listed_after_a_poll`).
LISTED_AFTER_A_POLL = "listed_after_a_poll"


@contextmanager
def listed_after_a_poll(emulator: EmulatorClient, timeout: float = 600) -> Iterator[None]:
    """Keep each new uploading out of ``last_uploadings`` until one answered poll has missed it.

    Uploads are made under ``hold_listing``; a watcher releases them once a ``last_uploadings``
    request that came after the upload has been answered, so the first look finds it pending
    however slowly the tasks run.

    :param emulator: the emulator the run uses.
    :param timeout: the longest the watcher runs.
    """
    emulator.configure(hold_listing=True)
    stop = threading.Event()

    def watch() -> None:
        examined, held = 0, False
        deadline = time.monotonic() + timeout
        while not stop.wait(0.05) and time.monotonic() < deadline:
            with suppress(requests.RequestException):
                for entry in emulator.requests()[examined:]:
                    if entry["status"] is None:
                        break  # not answered yet: look again
                    if "simple_orders" in entry["path"]:
                        held = True
                    elif held and entry["path"].endswith("/last_uploadings"):
                        emulator.release()
                        held = False
                    examined += 1

    watcher = threading.Thread(target=watch, name="listed-after-a-poll", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(30)
        emulator.configure(hold_listing=False)
        emulator.release()


#: Each example DAG, the extra ``dags test`` arguments, and the emulator settings of its run.
EXAMPLES: list[tuple[str, list[str], dict[str, Any]]] = [
    ("example_metrika_dataframe", [], {}),
    ("example_metrika_object_storage", [], {}),
    ("example_metrika_sql", ["2024-01-10"], {}),
    ("example_metrika_many_counters", [], {}),
    # Listed only after the first poke: the sensor must defer to the (inline) trigger.
    ("example_metrika_wait_for_validation", [], {LISTED_AFTER_A_POLL: True}),
]


def make_warehouse(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE orders (order_id TEXT, created_at TEXT, customer_id TEXT, email TEXT, phone TEXT,"
            " status TEXT, amount NUMERIC, currency TEXT)"
        )
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", WAREHOUSE_ROWS)
    return path


@pytest.fixture(scope="session")
def example_runs(
    metrika_emulator: EmulatorClient, airflow_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ExampleRun]:
    """
    Run every example DAG once for the session (about 2 minutes) and keep what each did.

    Each runs with the connection docs/emulator.md gives (:func:`documented_connection`).
    """
    warehouse = make_warehouse(tmp_path_factory.mktemp("warehouse") / "orders.db")
    runs: dict[str, ExampleRun] = {}
    db = MetadataDb(airflow_home)
    for dag_id, args, example_settings in EXAMPLES:
        settings = dict(example_settings)
        hold = settings.pop(LISTED_AFTER_A_POLL, False)
        metrika_emulator.reset()
        metrika_emulator.configure(
            **{"listing_delay": 0.0, "status_delay": 0.0, "parallel_limit": None, **settings}
        )
        env = airflow_env(
            airflow_home,
            AIRFLOW_CONN_METRIKA_DEFAULT=documented_connection(metrika_emulator.base_url),
            AIRFLOW_CONN_ORDERS_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        )
        with listed_after_a_poll(metrika_emulator) if hold else nullcontext():
            result = run_airflow(["dags", "test", dag_id, *args], env)
        run_id = db.latest_run_id(dag_id)
        runs[dag_id] = ExampleRun(
            dag_id=dag_id,
            run_id=run_id,
            state=db.run_state(dag_id, run_id),
            output=result.output,
            db=db,
            orders={c: metrika_emulator.orders(c) for c in (COUNTER, OTHER_COUNTER)},
            requests=metrika_emulator.requests(),
        )
    metrika_emulator.reset()
    return runs


@pytest.fixture(scope="module")
def dag_env_module(airflow_home: Path, metrika_emulator: EmulatorClient) -> dict[str, str]:
    """Return the ``airflow dags test`` environment for module-scoped runs (see ``dag_env``)."""
    return airflow_env(
        airflow_home,
        AIRFLOW_CONN_METRIKA_DEFAULT=connection_json(
            metrika_emulator.base_url, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.5
        ),
    )
