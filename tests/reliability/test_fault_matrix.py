"""
Every injected fault, on the upload and on the read-back, against the emulator over real HTTP.

Each case ends either recovered or with a clear typed error; in every case the orders the emulator
stored are the input's orders exactly: never fewer when recovered, never a duplicate.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaServerError, MetrikaUploadUncertainError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER, SAMPLE_CSV

WITH_IDS = (
    b"id,create_date_time,emails,revenue\n"
    b"f-1,2024-01-09 10:00:00,one@example.com,10\n"
    b"f-2,2024-01-09 11:00:00,two@example.com,20\n"
    b"f-3,2024-01-09 12:00:00,three@example.com,30\n"
)
IDS = {"f-1", "f-2", "f-3"}
#: The official sample: two orders with ids, one without (re-sending it is not idempotent).
SAMPLE_IDS = {"s_ord1", "s_ord2"}


@dataclass(frozen=True)
class UploadCase:
    """One fault on the upload call and what must come of it."""

    name: str
    fault: dict[str, Any]
    body: bytes = WITH_IDS
    outcome: str = "recovered"  # or "uncertain"
    posts: int = 2
    settings: dict[str, Any] = field(default_factory=dict)


UPLOAD_CASES = [
    UploadCase("429 with Retry-After", {"status": 429, "retry_after": "0.1"}),
    UploadCase("429 without Retry-After", {"status": 429}),
    UploadCase(
        "429 with an HTTP-date Retry-After", {"status": 429, "retry_after": "Thu, 01 Jan 1970 00:00:00 GMT"}
    ),
    UploadCase("420 (older quota answer)", {"status": 420}),
    UploadCase("503 backend_error, ids: re-sent (SAVE is idempotent)", {"status": 503}),
    UploadCase(
        "503 before storing, no ids: a lost answer, uncertain",
        {"status": 503},
        SAMPLE_CSV,
        "uncertain",
        posts=1,
    ),
    UploadCase("429 quota, no ids: refused, re-sent", {"status": 429}, SAMPLE_CSV),
    UploadCase("500 before storing, ids: re-sent", {"status": 500}),
    UploadCase("504 before storing, ids: re-sent", {"status": 504}),
    UploadCase("504 after storing: found, not re-sent", {"status": 504, "after_processing": True}, posts=1),
    UploadCase(
        "504 after storing, no ids: found", {"status": 504, "after_processing": True}, SAMPLE_CSV, posts=1
    ),
    UploadCase("504 before storing, no ids: uncertain", {"status": 504}, SAMPLE_CSV, "uncertain", posts=1),
    UploadCase("dropped before storing, ids: re-sent", {"drop": "before"}),
    UploadCase("dropped after storing: found, not re-sent", {"drop": "after"}, posts=1),
    UploadCase("dropped after storing, no ids: found", {"drop": "after"}, SAMPLE_CSV, posts=1),
    UploadCase(
        "dropped before storing, no ids: uncertain", {"drop": "before"}, SAMPLE_CSV, "uncertain", posts=1
    ),
    UploadCase("slow answer past the timeout: found", {"delay": 2.0}, posts=1),
    UploadCase("slow answer past the timeout, no ids: found", {"delay": 2.0}, SAMPLE_CSV, posts=1),
    UploadCase(
        "answer lost, not listed yet, ids: re-sent (SAVE is idempotent)",
        {"status": 504, "after_processing": True},
        settings={"listing_delay": 30.0},
    ),
    UploadCase(
        "answer lost, not listed yet, no ids: uncertain",
        {"status": 504, "after_processing": True},
        SAMPLE_CSV,
        "uncertain",
        posts=1,
        settings={"listing_delay": 30.0},
    ),
]


def _expected_ids(body: bytes) -> set[str]:
    return IDS if body == WITH_IDS else SAMPLE_IDS


def _rows(body: bytes) -> int:
    return body.count(b"\n") - 1


@pytest.mark.parametrize("case", UPLOAD_CASES, ids=lambda c: c.name)
def test_upload_fault_is_recovered_or_clearly_reported_and_nothing_is_duplicated(
    metrika: EmulatorClient, metrika_conn: str, case: UploadCase
) -> None:
    if case.settings:
        metrika.configure(**case.settings)
    metrika.inject_faults({"target": "upload", **case.fault})
    hook = MetrikaHook(metrika_conn, timeout=0.5, lost_answer_wait=0.5)
    call: dict[str, Any] = {
        "expected_rows": _rows(case.body),
        "all_rows_have_ids": case.body == WITH_IDS,
    }

    if case.outcome == "recovered":
        uploading = upload_simple_orders(hook, COUNTER, io.BytesIO(case.body), **call)
        assert uploading["api_validation_status"] == "PASSED"
        assert uploading["uploading_id"] in {u["uploading_id"] for u in metrika.uploadings(COUNTER)}
    else:
        with pytest.raises(MetrikaUploadUncertainError, match="may or may not have stored it"):
            upload_simple_orders(hook, COUNTER, io.BytesIO(case.body), **call)

    assert len(metrika.api_requests(path_contains="simple_orders")) == case.posts
    stored = metrika.orders(COUNTER)
    if case.outcome == "uncertain" and not stored["orders"]:
        return  # nothing stored and the error says so: the user re-runs; nothing was duplicated
    assert set(stored["orders"]) == _expected_ids(case.body), "never fewer orders than the input"
    assert len(stored["orders_without_id"]) <= 1, "a row without id was never applied twice"
    max_applied = 2 if case.settings.get("listing_delay") else 1
    assert max(stored["applied_counts"].values()) <= max_applied


READ_FAULTS = [
    pytest.param({"status": 429, "retry_after": "0.1"}, id="429 with Retry-After"),
    pytest.param({"status": 429}, id="429 without Retry-After"),
    pytest.param({"status": 420}, id="420"),
    pytest.param({"status": 503}, id="503"),
    pytest.param({"status": 504}, id="504"),
    pytest.param({"drop": "before"}, id="connection dropped"),
    pytest.param({"delay": 2.0}, id="slow answer past the timeout"),
]


def _uploaded(hook: MetrikaHook, metrika: EmulatorClient) -> str:
    return str(upload_simple_orders(hook, COUNTER, io.BytesIO(WITH_IDS))["uploading_id"])


@pytest.mark.parametrize("fault", READ_FAULTS)
def test_read_back_fault_is_retried_until_the_uploading_is_found(
    metrika: EmulatorClient, metrika_conn: str, fault: dict[str, Any]
) -> None:
    hook = MetrikaHook(metrika_conn, read_timeout=0.5)
    uploading_id = _uploaded(hook, metrika)
    metrika.inject_faults({"target": "last_uploadings", **fault}, {"target": "counter", **fault})

    assert hook.get_uploading(COUNTER, uploading_id) is not None
    assert hook.get_counter(COUNTER)["time_zone_name"] == "Europe/Moscow"
    assert len(metrika.api_requests(path_contains="last_uploadings")) == 2
    assert set(metrika.orders(COUNTER)["orders"]) == IDS


@pytest.mark.parametrize("fault", READ_FAULTS)
async def test_async_read_back_fault_is_retried_until_the_uploading_is_found(
    metrika: EmulatorClient, metrika_conn: str, fault: dict[str, Any]
) -> None:
    hook = MetrikaHook(metrika_conn, read_timeout=0.5)
    uploading_id = _uploaded(hook, metrika)
    metrika.inject_faults({"target": "last_uploadings", **fault})

    found = await hook.aget_uploading(COUNTER, uploading_id)

    assert found is not None
    assert found["api_validation_status"] == "PASSED"
    assert len(metrika.api_requests(path_contains="last_uploadings")) == 2


def test_a_fault_that_outlasts_the_retry_limit_ends_in_a_typed_error(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.inject_faults({"target": "upload", "status": 503, "times": 10})

    with pytest.raises(MetrikaServerError, match="503"):
        upload_simple_orders(
            MetrikaHook(metrika_conn, retry_limit=3), COUNTER, io.BytesIO(WITH_IDS), all_rows_have_ids=True
        )

    assert len(metrika.api_requests(path_contains="simple_orders")) == 4
    assert metrika.orders(COUNTER)["orders"] == {}
