"""
The archive's rules on a retry whose source moved, the operator in process against the emulator.

Staged parts are sent only when sending the current source is not harmless; bytes Metrika refused
are never replayed; a staged part that cannot be read is a typed error that says what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaApiError,
    MetrikaBadRequestError,
    MetrikaSourceChangedError,
    MetrikaStagedPartMissingError,
)
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.conftest import COUNTER
from tests.task_context import TaskContext

ROW = "{id},2024-01-09 10:00:00,{email},{revenue}\n"


def _orders(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    body = "".join(ROW.format(id=i, email=e, revenue=r) for i, e, r in rows)
    path.write_text("id,create_date_time,emails,revenue\n" + body)
    return path


def _operator(path: Path, archive: Path, **kwargs: Any) -> SimpleOrdersUploadOperator:
    arguments: dict[str, Any] = {"timezone": "Europe/Moscow", "max_part_bytes": 100, **kwargs}
    return SimpleOrdersUploadOperator(
        task_id="upload", path=str(path), archive_path=str(archive), **arguments
    )


def _posts(metrika: EmulatorClient) -> int:
    return len(metrika.api_requests(path_contains="simple_orders"))


ROWS = [(f"o-{n}", f"c{n}@example.com", "100") for n in range(4)]


def test_a_harmless_retry_sends_the_current_source_not_the_stale_staged_bytes(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = _orders(tmp_path / "orders.csv", ROWS)
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1, "times": 6})
    with pytest.raises(MetrikaApiError):
        _operator(source, tmp_path / "archive").execute(task.context())
    # The source corrects o-0's revenue before the retry; SAVE with an id on every row.
    _orders(source, [("o-0", "c0@example.com", "250"), *ROWS[1:]])

    _operator(source, tmp_path / "archive").execute(task.retry())

    stored = metrika.orders(COUNTER)["orders"]
    assert set(stored) == {"o-0", "o-1", "o-2", "o-3"}
    assert stored["o-0"]["revenue"] == "250", "Metrika holds what the source holds now"


def test_bytes_metrika_refused_are_never_replayed_and_a_fixed_source_reaches_metrika(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    # APPEND without ids: re-sending is not harmless. Metrika refuses the first part with a verdict.
    rows = [("", f"c{n}@example.com", "100") for n in range(4)]
    source = _orders(tmp_path / "orders.csv", rows)
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading"})
    with pytest.raises(MetrikaBadRequestError):
        _operator(source, tmp_path / "archive", merge_mode="APPEND").execute(task.context())
    refused = metrika.api_requests(path_contains="simple_orders")[0]["multipart"][0]
    # The user fixes the source; nothing of the first plan was stored, so the fix is planned and sent.
    _orders(source, [("", "fixed@example.com", "100"), *rows[1:]])

    _operator(source, tmp_path / "archive", merge_mode="APPEND").execute(task.retry())

    emails = sorted(o["emails"] for o in metrika.orders(COUNTER)["orders_without_id"])
    assert emails == ["c1@example.com", "c2@example.com", "c3@example.com", "fixed@example.com"]
    resent = [r["multipart"][0] for r in metrika.api_requests(path_contains="simple_orders")[1:]]
    assert all(part["sha256"] != refused["sha256"] for part in resent), "the refused bytes were not replayed"


def test_a_refused_part_after_stored_ones_stops_before_sending_rather_than_replay_or_double(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    rows = [("", f"c{n}@example.com", "100") for n in range(4)]
    source = _orders(tmp_path / "orders.csv", rows)
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading", "skip": 1})
    with pytest.raises(MetrikaBadRequestError):
        _operator(source, tmp_path / "archive", merge_mode="APPEND").execute(task.context())
    posts = _posts(metrika)
    _orders(source, [*rows[:2], ("", "fixed@example.com", "100"), rows[3]])

    with pytest.raises(MetrikaSourceChangedError) as caught:
        _operator(source, tmp_path / "archive", merge_mode="APPEND").execute(task.retry())

    assert "refused bytes are never sent again" in str(caught.value)
    assert _posts(metrika) == posts, "nothing sent"
    assert len(metrika.orders(COUNTER)["orders_without_id"]) == 1, "only the first part (one row), once"


def test_a_staged_part_that_cannot_be_read_is_a_typed_error_that_says_what_to_do(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    rows = [("", f"c{n}@example.com", "100") for n in range(6)]
    source = _orders(tmp_path / "orders.csv", rows)
    archive = tmp_path / "archive"
    task = TaskContext()
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1, "times": 6})
    with pytest.raises(MetrikaApiError):
        _operator(source, archive, merge_mode="APPEND").execute(task.context())
    posts = _posts(metrika)
    _orders(source, [("", "late@example.com", "1"), *rows])
    shutil.rmtree(archive)  # a worker's local disk, or a bucket lifecycle rule

    with pytest.raises(MetrikaStagedPartMissingError) as caught:
        _operator(source, archive, merge_mode="APPEND").execute(task.retry())

    message = str(caught.value)
    assert "cannot be read" in message
    assert str(archive) in message
    assert "every worker reaches" in message
    assert "outlive the task's retries" in message
    assert "python -m airflow_provider_metrika.delivery forget --dag-id in_process" in message
    assert _posts(metrika) == posts, "nothing more sent"
