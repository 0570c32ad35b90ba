"""
The upload operator's ``execute`` in process, with a task context (XCom, task state store).

These tests drive the operator try by try as Airflow would: a try fails, the next try starts with
the same task state store and a higher try number, and what the emulator stored is checked.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_metrika.delivery.manifest import MANIFEST_DOCUMENT
from airflow_provider_metrika.delivery.resolve import RESEND_DOCUMENT
from airflow_provider_metrika.delivery.task_journal import COMPLETED_DOCUMENT, DOCUMENT_PREFIX, NEVER_EXPIRE
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaApiError,
    MetrikaSourceChangedError,
    MetrikaUploadUncertainError,
)
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.conftest import COUNTER
from tests.task_context import TaskContext, TaskInstance, TaskStateStore

#: One order without an id per line: a POS export, two customers buying twice the same day.
ROW = "{id},2024-01-09 10:00:00,{email}\n"


def _orders(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("id,create_date_time,emails\n" + "".join(ROW.format(id=i, email=e) for i, e in rows))
    return path


def _operator(path: Path, **kwargs: Any) -> SimpleOrdersUploadOperator:
    arguments: dict[str, Any] = {"timezone": "Europe/Moscow", "max_part_bytes": 100, **kwargs}
    return SimpleOrdersUploadOperator(task_id="upload", path=str(path), **arguments)


def _without_id(metrika: EmulatorClient) -> list[str]:
    return sorted(o["emails"] for o in metrika.orders(COUNTER)["orders_without_id"])


def test_byte_identical_parts_of_one_task_are_each_sent(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    rows = [("", "a@example.com"), ("", "b@example.com")] * 2
    source = _orders(tmp_path / "pos.csv", rows)
    task = TaskContext()
    operator = _operator(source, merge_mode="APPEND")

    uploadings = operator.execute(task.context())

    assert len(uploadings) == 2
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert _without_id(metrika) == ["a@example.com", "a@example.com", "b@example.com", "b@example.com"]
    assert task.ti.xcom_pull(key="orders_report")["rows_written"] == 4
    assert task.store is not None
    assert DOCUMENT_PREFIX + COMPLETED_DOCUMENT in task.store.values, "kept until Airflow records success"
    task.succeed(operator)
    assert task.store.values == {}, "a recorded success forgets its records"


def test_a_retry_whose_source_moved_fails_before_sending_instead_of_applying_rows_twice(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    rows = [("", f"c{n}@example.com") for n in range(6)]
    source = _orders(tmp_path / "orders.csv", rows)
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1, "times": 6})
    with pytest.raises(MetrikaApiError):
        _operator(source, merge_mode="APPEND").execute(task.context())
    accepted = _without_id(metrika)
    posts = len(metrika.api_requests(path_contains="simple_orders"))
    _orders(source, [("", "late@example.com"), *rows])  # a late order at the top of the source

    with pytest.raises(
        MetrikaSourceChangedError, match="the source changed since the first attempt"
    ) as caught:
        _operator(source, merge_mode="APPEND").execute(task.retry())

    assert "archive_path=" in str(caught.value)
    assert len(metrika.api_requests(path_contains="simple_orders")) == posts, "nothing sent"
    assert _without_id(metrika) == accepted


def test_with_archive_path_a_retry_sends_the_first_tries_bytes_whatever_the_source_does(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    rows = [("", f"c{n}@example.com") for n in range(6)]
    source = _orders(tmp_path / "orders.csv", rows)
    archive = tmp_path / "archive"
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1, "times": 6})
    with pytest.raises(MetrikaApiError):
        _operator(source, merge_mode="APPEND", archive_path=str(archive)).execute(task.context())
    _orders(source, [("", "late@example.com"), *rows])

    uploadings = _operator(source, merge_mode="APPEND", archive_path=str(archive)).execute(task.retry())

    assert _without_id(metrika) == sorted(e for _, e in rows), "each first-try row once; the late one waits"
    manifests = list(archive.rglob("manifest.json"))
    assert len(manifests) == 1
    import json

    kept = json.loads(manifests[0].read_text())
    assert [p["uploading_id"] for p in kept["parts"]] == [u["uploading_id"] for u in uploadings]
    assert kept["counter_id"] == COUNTER
    assert kept["merge_mode"] == "APPEND"
    assert all(Path(p["file"].removeprefix("file://")).exists() for p in kept["parts"])


def test_force_resend_asked_by_command_is_used_by_one_try_only(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    metrika.configure(listing_delay=600)
    source = _orders(tmp_path / "orders.csv", [("", "a@example.com")])
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 504})
    with pytest.raises(MetrikaUploadUncertainError) as caught:
        _operator(source, merge_mode="APPEND").execute(task.context())
    assert "python -m airflow_provider_metrika.delivery resend --dag-id in_process" in str(caught.value)
    assert "python -m airflow_provider_metrika.delivery forget" in str(caught.value)
    assert "mark the task success" in str(caught.value)
    with pytest.raises(MetrikaUploadUncertainError):
        _operator(source, merge_mode="APPEND").execute(task.retry())
    assert task.store is not None
    task.store.set(DOCUMENT_PREFIX + RESEND_DOCUMENT, {"requested_at": "2024-01-09T10:00:00+00:00"})

    _operator(source, merge_mode="APPEND").execute(task.retry())

    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert _without_id(metrika) == ["a@example.com"]


def test_rejects_path_in_a_folder_that_does_not_exist_is_created_and_named_everywhere(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(
        "id,create_date_time,emails\nr-1,2024-01-09 10:00:00,a@example.com\nr-2,1960-01-01,b@example.com\n"
    )
    kept = tmp_path / "rejects" / "2024-01-09" / "rejects.csv"
    task = TaskContext()

    _operator(source, on_invalid="skip", max_invalid_fraction=0.5, rejects_path=str(kept)).execute(
        task.context()
    )

    assert "r-2" in kept.read_text()
    assert task.ti.xcom_pull(key="orders_report")["rejects_path"].endswith(str(kept))


def test_a_deferred_wait_hands_over_through_the_journal_and_completes(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = _orders(tmp_path / "orders.csv", [("o-1", "a@example.com")])
    task = TaskContext()
    operator = _operator(source, wait_for_validation=True, deferrable=True, timeout=300, poll_interval=5)

    with pytest.raises(TaskDeferred) as caught:
        operator.execute(task.context())

    deferred = caught.value
    assert deferred.timeout is not None
    assert deferred.timeout.total_seconds() == pytest.approx(300 + 5 + 120, abs=5), "never deferred forever"
    assert task.store is not None
    assert DOCUMENT_PREFIX + "deferred" in task.store.values
    assert DOCUMENT_PREFIX + MANIFEST_DOCUMENT in task.store.values
    uploading_id = task.ti.xcom_pull(key="uploading_ids")[0]
    event = {
        "status": "success",
        "message": "ok",
        "uploadings": {uploading_id: {"uploading_id": uploading_id}},
        "pending": [],
    }
    resumed = _operator(source, wait_for_validation=True, deferrable=True)

    assert resumed.execute_complete(task.context(), event) == [{"uploading_id": uploading_id}]
    assert task.store.get(DOCUMENT_PREFIX + COMPLETED_DOCUMENT)["try_number"] == 1
    task.succeed(resumed)
    assert task.store.values == {}


def test_a_try_that_fails_after_execute_returned_is_retried_without_sending_again(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    # Two rows without ids: a second copy would double them. Something fails the try after execute
    # returned (a post_execute, an XCom backend, the end of the process): Airflow retries it.
    source = _orders(tmp_path / "orders.csv", [("", "a@example.com"), ("", "b@example.com")])
    task = TaskContext(TaskInstance(max_tries=1))
    first = _operator(source, merge_mode="APPEND")
    first.execute(task.context())

    again = _operator(source, merge_mode="APPEND")
    uploadings = again.execute(task.retry())

    assert len(uploadings) == 1
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1, "nothing sent again"
    assert _without_id(metrika) == ["a@example.com", "b@example.com"]
    task.succeed(again)
    assert task.store is not None
    assert task.store.values == {}


def test_a_clear_after_a_recorded_success_sends_everything_again(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = _orders(tmp_path / "orders.csv", [("", "a@example.com")])
    task = TaskContext()
    operator = _operator(source, merge_mode="APPEND")
    operator.execute(task.context())
    task.succeed(operator)

    _operator(source, merge_mode="APPEND").execute(task.clear(retries=1))

    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert _without_id(metrika) == ["a@example.com", "a@example.com"]


def test_a_clear_after_a_finished_try_whose_success_was_not_recorded_stops_before_sending(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    # Try 1 finished its uploads; its success was never recorded (or the clean-up after it never
    # ran), and the task is cleared: which of the two cannot be told, so nothing is guessed.
    source = _orders(tmp_path / "orders.csv", [("", "a@example.com")])
    task = TaskContext()
    _operator(source, merge_mode="APPEND").execute(task.context())

    with pytest.raises(MetrikaUploadUncertainError) as caught:
        _operator(source, merge_mode="APPEND").execute(task.clear())

    message = str(caught.value)
    assert "The task was cleared after try 1 finished uploading" in message
    assert "python -m airflow_provider_metrika.delivery forget --dag-id in_process" in message
    assert "mark the task success" in message
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1, "nothing sent"
    assert metrika.api_requests(path_contains="/management/") == [], "stopped before reading anything"


def test_every_record_is_written_to_outlive_the_stores_routine_clean_up(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = _orders(tmp_path / "orders.csv", [("o-1", "a@example.com")])
    task = TaskContext()

    _operator(source, archive_path=str(tmp_path / "archive")).execute(task.context())

    assert task.store is not None
    assert task.store.retentions
    assert set(task.store.retentions.values()) == {NEVER_EXPIRE}


def test_the_in_process_store_has_airflows_methods_and_keeps_json_as_airflow_does() -> None:
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    for name in ("get", "set", "delete", "clear"):
        real = inspect.signature(getattr(TaskStateStoreAccessor, name)).parameters
        ours = inspect.signature(getattr(TaskStateStore, name)).parameters
        assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in real.values()], name
    store = TaskStateStore()
    store.set("k", {"parts": (1, 2), 3: "three"})

    assert store.get("k") == {"parts": [1, 2], "3": "three"}, "read back from JSON: lists and text keys"
    assert store.get("missing", "default") == "default"
    with pytest.raises(TypeError):
        store.set("k", {"at": Path("/tmp")})
    with pytest.raises(ValueError, match="None"):
        store.set("k", None)
