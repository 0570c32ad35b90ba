"""
The bad-input catalogue: connection, operator arguments and data, each refused with a clear error
before any order is sent, proven against the emulator's request log.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaConnectionError,
    MetrikaError,
    MetrikaInvalidArgumentError,
    MetrikaNotFoundError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor
from tests.airflow_cli import REPO, MetadataDb, run_airflow
from tests.conftest import COUNTER, SAMPLE_CSV, TOKEN, connection_json
from tests.reliability.bad_inputs import BAD_FILES, BadFile
from tests.reliability.hostile_arguments import (
    HOOK_ARGUMENT_CASES,
    HOOK_CASES,
    OPERATOR_CASES,
    SENSOR_CASES,
    HookCall,
)

DAG_ID = "test_metrika_bad_inputs"

# -- connection -----------------------------------------------------------------------------------

CONNECTION_CASES = [
    pytest.param({"token": ""}, MetrikaInvalidArgumentError, "has no OAuth token", id="no token"),
    pytest.param({"token": "   "}, MetrikaInvalidArgumentError, "has no OAuth token", id="blank token"),
    pytest.param(
        {"base_url": "ftp://127.0.0.1"},
        MetrikaInvalidArgumentError,
        "'API base URL' must look like",
        id="ftp URL",
    ),
    pytest.param(
        {"base_url": "http://127.0.0.1:9"},
        MetrikaConnectionError,
        "connection failed",
        id="nothing listening",
    ),
    pytest.param(
        {"base_url": "http://user:s3cr3t@127.0.0.1:8765"},
        MetrikaInvalidArgumentError,
        "user name or password",
        id="credentials in the host",
    ),
    pytest.param(
        {"base_url": "http://evil.example\\@127.0.0.1"},
        MetrikaInvalidArgumentError,
        "user name or password",
        id="backslash trick",
    ),
    pytest.param(
        {"base_url": "http://127.1:8765"}, MetrikaInvalidArgumentError, "short, octal or hex", id="short IPv4"
    ),
    pytest.param(
        {"base_url": "http://localhost.evil.example"},
        MetrikaInvalidArgumentError,
        "unencrypted",
        id="plain http to a localhost look-alike",
    ),
]


@pytest.mark.parametrize(("conn", "error", "message"), CONNECTION_CASES)
def test_bad_connection_fails_clearly_and_reaches_nothing(
    metrika: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
    conn: dict[str, str],
    error: type[MetrikaError],
    message: str,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_BAD",
        connection_json(conn.get("base_url", metrika.base_url), token=conn.get("token", TOKEN)),
    )

    with pytest.raises(error, match=message) as refused:
        upload_simple_orders(MetrikaHook("metrika_bad", retry_limit=0), COUNTER, io.BytesIO(SAMPLE_CSV))
    assert "s3cr3t" not in str(refused.value)
    assert metrika.api_requests() == []


def test_unknown_counter_is_named_and_no_orders_are_sent(metrika: EmulatorClient, metrika_conn: str) -> None:
    with pytest.raises(MetrikaNotFoundError, match="404"):
        MetrikaHook(metrika_conn).get_counter_timezone(99999)
    # The operator asks the counter's time zone before preparing: the 404 comes before any upload.
    assert metrika.api_requests(path_contains="simple_orders") == []
    assert [r["path"] for r in metrika.api_requests()] == ["/management/v1/counter/99999"]


# -- operator arguments ---------------------------------------------------------------------------

ARGUMENT_CASES = [
    pytest.param(
        {"path": "/a.csv", "sql": "SELECT 1", "sql_conn_id": "db"}, "exactly one input", id="two inputs"
    ),
    pytest.param({}, "exactly one input among dataframe=, path= and sql=; got none", id="no input"),
    pytest.param({"path": "/a.csv", "merge_mode": "MERGE"}, "merge_mode must be one of", id="bad merge_mode"),
    pytest.param(
        {"path": "/a.csv", "counter_id": "12.5"}, "counter_id must be a positive integer", id="counter"
    ),
    pytest.param(
        {"path": "/a.csv", "timeout": -1},
        "timeout must be a number of seconds greater than 0",
        id="negative timeout",
    ),
    pytest.param({"sql": "SELECT * FROM orders"}, "sql= needs sql_conn_id=", id="missing sql_conn_id"),
    pytest.param({"path": "/a.csv", "delimiter_type": ";"}, "delimiter_type must be one of", id="delimiter"),
    pytest.param(
        {"path": "/a.csv", "max_part_bytes": 10}, "max_part_bytes must be an integer", id="tiny parts"
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), ARGUMENT_CASES + OPERATOR_CASES)
def test_bad_operator_argument_fails_at_parse_time_and_reaches_nothing(
    metrika: EmulatorClient, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        SimpleOrdersUploadOperator(task_id="upload", **kwargs)  # type: ignore[arg-type]
    assert metrika.api_requests() == []


@pytest.mark.parametrize(("kwargs", "message"), SENSOR_CASES)
def test_bad_sensor_argument_fails_at_parse_time_and_reaches_nothing(
    metrika: EmulatorClient, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        MetrikaUploadingSensor(task_id="wait", **kwargs)  # type: ignore[arg-type]
    assert metrika.api_requests() == []


@pytest.mark.parametrize(("call", "message"), HOOK_CASES)
def test_bad_hook_argument_fails_before_any_request(
    metrika: EmulatorClient, metrika_conn: str, call: HookCall, message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        call(MetrikaHook(metrika_conn, retry_limit=0))
    assert metrika.api_requests() == []


@pytest.mark.parametrize(("kwargs", "message"), HOOK_ARGUMENT_CASES)
def test_bad_hook_setting_is_refused_when_the_hook_is_made(
    metrika: EmulatorClient, metrika_conn: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        MetrikaHook(metrika_conn, **kwargs).list_uploadings(COUNTER)  # type: ignore[arg-type]
    assert metrika.api_requests() == []


# -- data, through real Airflow -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_input_run(
    metrika_emulator: EmulatorClient, dag_env_module: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str | None], dict[str, str], list[dict[str, object]]]:
    """Run one DAG with a task per bad file; return task states, each task's log, the emulator's requests."""
    files = tmp_path_factory.mktemp("bad-files")
    for bad in BAD_FILES:
        (files / f"{bad.task_id}.csv").write_bytes(bad.content)
    metrika_emulator.reset()
    env = {**dag_env_module, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "tests" / "dags")}
    result = run_airflow(["dags", "test", DAG_ID, "--conf", json.dumps({"files_dir": str(files)})], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    states = db.task_states(DAG_ID, db.latest_run_id(DAG_ID))
    return states, _logs_by_task(result.output), metrika_emulator.requests()


def _logs_by_task(output: str) -> dict[str, str]:
    logs: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        started = re.search(r"\[DAG TEST\] starting task_id=(\w+)", line)
        if started:
            current = started.group(1)
        if current:
            logs[current] = logs.get(current, "") + line + "\n"
        if "[DAG TEST] end task" in line:
            current = None
    return logs


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.task_id)
def test_bad_orders_file_fails_its_task_clearly_before_any_request(
    bad_input_run: tuple[dict[str, str | None], dict[str, str], list[dict[str, object]]], bad: BadFile
) -> None:
    states, logs, requests = bad_input_run

    assert states[bad.task_id] == "failed"
    log = logs[bad.task_id]
    for expected in bad.expected:
        assert expected in log, f"{bad.task_id}: {expected!r} not in the task log:\n{log[-3000:]}"
    if bad.secret:
        assert bad.secret not in log, "raw PII in the task log"
    assert requests == [], "no request of any kind reached Metrika"


def test_catalogue_has_at_least_thirty_cases() -> None:
    assert len(CONNECTION_CASES) + 1 + len(ARGUMENT_CASES) + len(BAD_FILES) >= 30


def test_catalogue_of_hostile_arguments_covers_the_operator_the_sensor_and_the_hook() -> None:
    hostile = len(OPERATOR_CASES) + len(SENSOR_CASES) + len(HOOK_CASES) + len(HOOK_ARGUMENT_CASES)
    assert hostile >= 60
    assert len(CONNECTION_CASES) + 1 + len(ARGUMENT_CASES) + len(BAD_FILES) + hostile >= 115
