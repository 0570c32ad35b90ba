"""MetrikaUploadingSensor against the emulator: pokes, arguments, timeouts, and whole DAG runs."""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaError,
    MetrikaInvalidArgumentError,
    MetrikaUploadingFailedError,
    MetrikaUploadingTimeoutError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor, MetrikaUploadingSensorTimeout
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger
from tests.airflow_cli import MetadataDb, run_airflow
from tests.conftest import COUNTER, DOCUMENTED_TOKEN, SAMPLE_CSV, TOKEN, ExampleRun

BAD_CSV = b"id,create_date_time,emails\no1,31.02.2024,NOT-AN-EMAIL\n"
DAGS = Path(__file__).resolve().parent / "dags"
CONTEXT: Any = {}


def upload(conn_id: str, body: bytes = SAMPLE_CSV) -> dict[str, Any]:
    return upload_simple_orders(MetrikaHook(conn_id), COUNTER, io.BytesIO(body))


def sensor(uploading_ids: Any, **kwargs: Any) -> MetrikaUploadingSensor:
    return MetrikaUploadingSensor(task_id="wait", uploading_ids=uploading_ids, **kwargs)


# -- poke ------------------------------------------------------------------------------------------


def test_poke_is_false_while_the_uploading_is_not_listed(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(listing_delay=60)
    uploading = upload(metrika_conn)

    assert sensor([uploading]).poke(CONTEXT) is False


def test_poke_is_false_while_the_status_is_in_progress(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(status_delay=60)
    uploading = upload(metrika_conn)

    assert sensor([uploading]).poke(CONTEXT) is False


def test_poke_is_true_when_all_passed_with_one_request(metrika: EmulatorClient, metrika_conn: str) -> None:
    uploadings = [upload(metrika_conn) for _ in range(3)]

    assert sensor(uploadings).poke(CONTEXT) is True
    assert len(metrika.api_requests(path_contains="last_uploadings")) == 1


def test_poke_raises_on_failed_with_metrikas_errors(metrika: EmulatorClient, metrika_conn: str) -> None:
    good = upload(metrika_conn)
    bad = upload(metrika_conn, BAD_CSV)

    with pytest.raises(MetrikaUploadingFailedError, match=bad["uploading_id"]) as caught:
        sensor([good, bad]).poke(CONTEXT)
    listed = metrika.uploadings(COUNTER)[0]
    assert listed["uploading_id"] == bad["uploading_id"]
    assert listed["api_validation_errors"]
    assert all(error in str(caught.value) for error in listed["api_validation_errors"])


def test_later_pokes_keep_what_passed_and_finish_when_the_rest_is_listed(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    first = upload(metrika_conn)
    metrika.configure(hold_listing=True)
    second = upload(metrika_conn)  # not listed until released
    waiting = sensor([first, second])

    assert waiting.poke(CONTEXT) is False
    metrika.release()
    assert waiting.poke(CONTEXT) is True


@pytest.mark.parametrize(
    "shape",
    ["one id", "list of ids", "upload operator output", "rendered list text"],
)
def test_accepts_every_shape_of_uploading_ids(metrika: EmulatorClient, metrika_conn: str, shape: str) -> None:
    uploadings = [upload(metrika_conn), upload(metrika_conn)]
    ids = [u["uploading_id"] for u in uploadings]
    given: Any = {
        "one id": ids[0],
        "list of ids": ids,
        "upload operator output": uploadings,
        "rendered list text": str(uploadings),
    }[shape]

    waiting = sensor(given)

    assert waiting.poke(CONTEXT) is True
    expected = ids[:1] if shape == "one id" else ids
    assert list(waiting._waiting().uploadings) == expected


def test_no_counter_means_the_connections_default(metrika: EmulatorClient, metrika_conn: str) -> None:
    sensor([upload(metrika_conn)], counter_id=None).poke(CONTEXT)

    [request] = metrika.api_requests(path_contains="last_uploadings")
    assert request["path"] == f"/cdp/api/v1/counter/{COUNTER}/last_uploadings"


# -- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"counter_id": 0}, r"counter_id must be a positive integer.*got 0"),
        ({"counter_id": "12a"}, r"counter_id must be a positive integer.*'12a'"),
        ({"uploading_ids": []}, r"uploading_ids is empty"),
        ({"uploading_ids": "  "}, r"uploading_ids\[0\] must be a non-empty uploading id"),
        (
            {"uploading_ids": [{"datetime": "2024-01-01T00:00:00Z"}]},
            r"uploading_ids\[0\] is an object without",
        ),
        ({"uploading_ids": ["ok", None]}, r"uploading_ids\[1\] must be a non-empty uploading id"),
        ({"uploading_ids": 42}, r"uploading_ids must be an uploading id, a list of ids.*got int"),
        ({"uploading_ids": "[not, a list"}, r"uploading_ids cannot be read as JSON or a Python literal"),
        (
            {"poke_interval": -1},
            r"poke_interval must be a number of seconds \(or a timedelta\) at least 0 .*; got -1",
        ),
        (
            {"timeout": -0.5},
            r"timeout must be a number of seconds \(or a timedelta\) at least 0 .*; got -0.5",
        ),
        (
            {"poke_interval": "often"},
            r"poke_interval must be a number of seconds \(or a timedelta\) .*; got 'often'",
        ),
        ({"metrika_conn_id": ""}, r"metrika_conn_id must be a connection id"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"uploading_ids": "some-id", **kwargs}

    with pytest.raises(MetrikaInvalidArgumentError, match=message):
        MetrikaUploadingSensor(task_id="wait", **arguments)


def test_values_known_only_at_run_time_are_checked_at_run_time() -> None:
    waiting = sensor("{{ ti.xcom_pull(task_ids='upload') }}", counter_id="{{ var.value.counter }}")

    assert waiting.uploading_ids == "{{ ti.xcom_pull(task_ids='upload') }}"
    assert {"uploading_ids", "counter_id"} <= set(MetrikaUploadingSensor.template_fields)


# -- timeouts --------------------------------------------------------------------------------------


def test_timeout_names_pending_ids_and_last_status(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(status_delay=60)
    in_progress = upload(metrika_conn)["uploading_id"]
    unlisted = "22222222-2222-2222-2222-222222222222"

    with pytest.raises(MetrikaUploadingSensorTimeout) as caught:
        sensor([in_progress, unlisted], poke_interval=0.05, timeout=0.3).execute(CONTEXT)

    message = str(caught.value)
    assert "Sensor has timed out" not in message
    assert f"{in_progress} (last status IN_PROGRESS)" in message
    assert f"{unlisted} (not listed yet)" in message
    assert "within the sensor's timeout of 0.3 s" in message
    assert isinstance(caught.value, AirflowSensorTimeout), "Airflow fails a sensor timeout without retrying"
    assert isinstance(caught.value, MetrikaUploadingTimeoutError)


def test_soft_fail_timeout_skips_with_the_pending_ids(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(listing_delay=60)
    uploading_id = upload(metrika_conn)["uploading_id"]

    with pytest.raises(AirflowSkipException, match=f"{uploading_id} \\(not listed yet\\)"):
        sensor(uploading_id, poke_interval=0.05, timeout=0.2, soft_fail=True).execute(CONTEXT)


# -- deferrable ------------------------------------------------------------------------------------


def test_deferrable_returns_at_once_when_the_first_poke_passes(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    uploading = upload(metrika_conn)

    result = sensor([uploading], deferrable=True).execute(CONTEXT)

    assert [u["uploading_id"] for u in result] == [uploading["uploading_id"]]
    assert result[0]["api_validation_status"] == "PASSED"


def test_deferrable_defers_to_the_trigger_with_ids_deadline_and_not_before(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(listing_delay=60)
    uploadings = [upload(metrika_conn), upload(metrika_conn)]
    before = time.time()

    with pytest.raises(TaskDeferred) as caught:
        sensor(uploadings, deferrable=True, poke_interval=7, timeout=600).execute(CONTEXT)

    trigger = caught.value.trigger
    assert isinstance(trigger, MetrikaUploadingTrigger)
    assert caught.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert kwargs["uploading_ids"] == [u["uploading_id"] for u in uploadings]
    assert kwargs["counter_id"] == COUNTER
    assert kwargs["poll_interval"] == 7
    assert kwargs["not_before"] == min(u["datetime"] for u in uploadings)
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600
    assert TOKEN not in str(kwargs)


def _event(status: str, **fields: Any) -> dict[str, Any]:
    return {"status": status, "message": f"the {status} message", "uploadings": {}, "pending": [], **fields}


def test_execute_complete_returns_the_uploadings_of_a_success_event() -> None:
    uploading = {"uploading_id": "a", "api_validation_status": "PASSED"}

    result = sensor("a").execute_complete(CONTEXT, _event("success", uploadings={"a": uploading}))

    assert result == [uploading]


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (_event("failed", pending=["b"]), MetrikaUploadingFailedError),
        (_event("timeout", pending=["a"]), MetrikaUploadingSensorTimeout),
        (_event("error"), MetrikaError),
        (_event("success", pending=["a"]), MetrikaError),
        ({"status": "surprise"}, MetrikaError),
        ("not a dict", MetrikaError),
    ],
)
def test_execute_complete_raises_on_anything_but_success(event: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        sensor("a").execute_complete(CONTEXT, event)


def test_execute_complete_keeps_the_events_message() -> None:
    with pytest.raises(MetrikaUploadingSensorTimeout, match="the timeout message"):
        sensor("a").execute_complete(CONTEXT, _event("timeout", pending=["a"]))


# -- whole DAG runs --------------------------------------------------------------------------------


def _reschedules(home: Path, dag_id: str, run_id: str, task_id: str) -> int:
    with sqlite3.connect(home / "airflow.db") as conn:
        [(count,)] = conn.execute(
            "SELECT COUNT(*) FROM task_reschedule r JOIN task_instance t ON r.ti_id = t.id"
            " WHERE t.dag_id = ? AND t.run_id = ? AND t.task_id = ?",
            (dag_id, run_id, task_id),
        )
    return int(count)


def test_example_dag_defers_and_succeeds_under_dags_test(example_runs: dict[str, ExampleRun]) -> None:
    run = example_runs["example_metrika_wait_for_validation"]

    assert run.state == "success", run.output[-6000:]
    assert "running trigger in line" in run.output, "the sensor deferred"
    assert run.task_states() == {"upload_orders": "success", "wait_for_validation": "success"}
    [uploaded] = run.xcom("upload_orders")
    [validated] = run.xcom("wait_for_validation")
    assert validated["uploading_id"] == uploaded["uploading_id"]
    assert validated["api_validation_status"] == "PASSED"
    polls = [r for r in run.requests if r["path"].endswith("/last_uploadings")]
    assert len(polls) >= 2, "a poke, then the trigger"
    assert any(uploaded["uploading_id"] in row for row in run.db.trigger_kwargs()), "the trigger was stored"
    assert DOCUMENTED_TOKEN not in run.output
    assert not any(DOCUMENTED_TOKEN in value for value in run.db.all_xcom_values() + run.db.trigger_kwargs())


@pytest.mark.timeout(300)
def test_reschedule_mode_frees_the_slot_between_pokes_and_succeeds(
    metrika: EmulatorClient, airflow_home: Path, dag_env: dict[str, str]
) -> None:
    dag_id = "metrika_wait_reschedule"
    metrika.configure(listing_delay=4)
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}

    result = run_airflow(["dags", "test", dag_id], env, timeout=240)

    assert result.returncode == 0, result.output[-6000:]
    db = MetadataDb(airflow_home)
    run_id = db.latest_run_id(dag_id)
    assert db.run_state(dag_id, run_id) == "success", result.output[-6000:]
    assert db.task_states(dag_id, run_id)["wait_for_validation"] == "success"
    assert _reschedules(airflow_home, dag_id, run_id, "wait_for_validation") >= 1
    [validated] = db.xcom(dag_id, run_id, "wait_for_validation")
    assert validated["api_validation_status"] == "PASSED"


@pytest.mark.parametrize("rendered", [[], "[]", "", ()])
@pytest.mark.parametrize("deferrable", [False, True])
def test_an_empty_list_rendered_at_run_time_is_a_success_with_one_log_line(
    metrika: EmulatorClient, metrika_conn: str, rendered: Any, deferrable: bool, capfd: Any
) -> None:
    waiting = sensor("{{ ti.xcom_pull(task_ids='upload') }}", deferrable=deferrable)
    waiting.uploading_ids = rendered  # as templating renders an upload that sent nothing

    assert waiting.execute({}) == []

    logged = "".join(capfd.readouterr())
    assert logged.count("No uploadings to wait for (the upload sent nothing): done.") == 1
    assert metrika.api_requests() == [], "nothing asked of Metrika"
