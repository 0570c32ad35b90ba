"""MetrikaUploadingTrigger over real HTTP against the emulator: statuses, faults, deadline, serialization."""

from __future__ import annotations

import asyncio
import importlib
import io
import itertools
import json
import time
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaError,
    MetrikaUploadingFailedError,
    MetrikaUploadingTimeoutError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger
from airflow_provider_metrika.waiting.uploadings import result_from_event
from tests.conftest import COUNTER, SAMPLE_CSV, TOKEN, connection_json

BAD_CSV = b"id,create_date_time,emails\no1,31.02.2024,NOT-AN-EMAIL\n"
POLL = 0.05


def upload(conn_id: str, body: bytes = SAMPLE_CSV) -> dict[str, Any]:
    return upload_simple_orders(MetrikaHook(conn_id), COUNTER, io.BytesIO(body))


def make_trigger(
    ids: list[str], *, seconds: float = 10.0, conn_id: str = "metrika_default", **kwargs: Any
) -> MetrikaUploadingTrigger:
    return MetrikaUploadingTrigger(
        metrika_conn_id=conn_id,
        counter_id=COUNTER,
        uploading_ids=ids,
        poll_interval=POLL,
        deadline=time.time() + seconds,
        **kwargs,
    )


async def run_to_end(trigger: MetrikaUploadingTrigger, limit: float = 20.0) -> list[dict[str, Any]]:
    """Run the trigger until its generator ends and return every event payload it yielded."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), limit)


async def until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``check()`` holds, ``timeout`` seconds at most, letting the trigger run meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        await asyncio.sleep(0.01)


async def test_waits_while_the_uploading_is_not_listed_then_succeeds(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(hold_listing=True)
    uploading = upload(metrika_conn)
    trigger = make_trigger([uploading["uploading_id"]], seconds=120)
    running = asyncio.ensure_future(run_to_end(trigger, limit=120))

    await until("second poll", lambda: trigger.polls >= 2)
    assert not running.done(), "not listed: still waiting"
    metrika.release()
    [event] = await running

    assert event["status"] == "success"
    assert event["pending"] == []
    assert event["uploadings"][uploading["uploading_id"]]["api_validation_status"] == "PASSED"


async def test_passed_uploadings_yield_one_success_event_with_all_of_them(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    ids = [upload(metrika_conn)["uploading_id"] for _ in range(3)]
    trigger = make_trigger(ids)

    events = await run_to_end(trigger)

    assert len(events) == 1
    [event] = events
    assert set(event) == {"status", "message", "uploadings", "pending"}
    assert event["status"] == "success"
    assert list(event["uploadings"]) == ids, "in the order of the ids"
    assert f"Metrika validated 3 uploadings on counter {COUNTER}" in event["message"]
    assert trigger.polls == 1
    assert result_from_event(event) == event["uploadings"]


async def test_the_first_poll_waits_one_interval(metrika: EmulatorClient, metrika_conn: str) -> None:
    uploading_id = upload(metrika_conn)["uploading_id"]
    trigger = make_trigger([uploading_id])
    trigger.poll_interval = 0.5
    started = datetime.now(UTC)

    [event] = await run_to_end(trigger)

    assert event["status"] == "success"
    [poll] = metrika.api_requests(path_contains="last_uploadings")
    # A lower bound only: a loaded machine makes the wait longer, never shorter.
    waited = (datetime.fromisoformat(poll["received_at"]) - started).total_seconds()
    assert waited >= 0.5 - 0.01, "the task polled just before deferring"
    assert trigger.polls == 1


async def test_in_progress_is_pending_until_passed(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(status_delay=600)
    uploading_id = upload(metrika_conn)["uploading_id"]
    trigger = make_trigger([uploading_id], seconds=120)
    running = asyncio.ensure_future(run_to_end(trigger, limit=120))

    await until("second poll", lambda: trigger.polls >= 2)
    assert not running.done(), "IN_PROGRESS is pending"
    metrika.configure(status_delay=0)
    [event] = await running

    assert event["status"] == "success"
    assert event["uploadings"][uploading_id]["api_validation_status"] == "PASSED"
    statuses = [r["status"] for r in metrika.api_requests(path_contains="last_uploadings")]
    assert len(statuses) >= 3, "IN_PROGRESS was polled again"


async def test_failed_uploading_ends_at_once_with_metrikas_errors(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    good = upload(metrika_conn)["uploading_id"]
    bad = upload(metrika_conn, BAD_CSV)["uploading_id"]
    unknown = "00000000-0000-0000-0000-000000000000"
    trigger = make_trigger([good, bad, unknown])

    [event] = await run_to_end(trigger)

    assert event["status"] == "failed"
    assert trigger.polls == 1, "FAILED ends the wait even with an id still pending"
    assert event["uploadings"][bad]["api_validation_status"] == "FAILED"
    assert event["pending"] == [unknown]
    assert f"rejected 1 of 3 uploadings on counter {COUNTER}" in event["message"]
    errors = event["uploadings"][bad]["api_validation_errors"]
    assert errors
    assert all(error in event["message"] for error in errors)
    with pytest.raises(MetrikaUploadingFailedError, match=bad):
        result_from_event(event)


async def test_a_storm_of_429_longer_than_the_hooks_retries_is_survived(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    uploading_id = upload(metrika_conn)["uploading_id"]
    # The hook tries 6 times per poll (5 retries): the first poll fails whole, the second succeeds.
    metrika.inject_faults({"target": "last_uploadings", "status": 429, "times": 8})
    trigger = make_trigger([uploading_id])

    [event] = await run_to_end(trigger)

    assert event["status"] == "success"
    assert trigger.polls == 2
    assert len(metrika.api_requests(path_contains="last_uploadings")) == 9


async def test_503_is_retried_within_a_poll(metrika: EmulatorClient, metrika_conn: str) -> None:
    uploading_id = upload(metrika_conn)["uploading_id"]
    metrika.inject_faults({"target": "last_uploadings", "status": 503, "times": 3})
    trigger = make_trigger([uploading_id])

    [event] = await run_to_end(trigger)

    assert event["status"] == "success"
    assert trigger.polls == 1
    assert len(metrika.api_requests(path_contains="last_uploadings")) == 4


async def test_503_until_the_deadline_times_out_naming_the_last_failure(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    uploading_id = upload(metrika_conn)["uploading_id"]
    metrika.inject_faults({"target": "last_uploadings", "status": 503, "times": 1000})

    [event] = await run_to_end(make_trigger([uploading_id], seconds=0.3))

    assert event["status"] == "timeout"
    assert event["pending"] == [uploading_id]
    assert f"{uploading_id} (not listed yet)" in event["message"]
    assert "The last poll failed: HTTP 503" in event["message"]


async def test_deadline_passing_while_pending_yields_timeout_with_ids_and_last_statuses(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(status_delay=60)
    in_progress = upload(metrika_conn)["uploading_id"]
    unlisted = "11111111-1111-1111-1111-111111111111"
    trigger = make_trigger([in_progress, unlisted], seconds=1.0)

    [event] = await run_to_end(trigger, limit=60)  # the deadline ends the wait, not this bound

    assert time.time() >= trigger.deadline
    assert event["status"] == "timeout"
    assert event["pending"] == [in_progress, unlisted]
    assert f"{in_progress} (last status IN_PROGRESS)" in event["message"]
    assert f"{unlisted} (not listed yet)" in event["message"]
    assert event["uploadings"][in_progress]["api_validation_status"] == "IN_PROGRESS"
    assert trigger.polls >= 1
    with pytest.raises(MetrikaUploadingTimeoutError, match="still pending"):
        result_from_event(event)


async def test_a_past_deadline_still_polls_once(metrika: EmulatorClient, metrika_conn: str) -> None:
    uploading_id = upload(metrika_conn)["uploading_id"]
    trigger = make_trigger([uploading_id], seconds=-5)

    [event] = await run_to_end(trigger)

    assert event["status"] == "success", "a triggerer resuming late still reads the final state"


async def test_a_rejected_token_yields_an_error_event_without_the_token(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_token = "tok-REJECTED-secret-123"
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_BAD", connection_json(metrika.base_url, token=bad_token))
    trigger = make_trigger(["some-id"], conn_id="metrika_bad")

    [event] = await run_to_end(trigger)

    assert event["status"] == "error"
    assert "401" in event["message"]
    assert bad_token not in json.dumps(event)
    assert trigger.polls == 1, "an answer retrying cannot fix is not polled again"
    with pytest.raises(MetrikaError, match="401"):
        result_from_event(event)


async def test_a_missing_connection_yields_an_error_event(metrika: EmulatorClient) -> None:
    [event] = await run_to_end(make_trigger(["some-id"], conn_id="metrika_no_such_conn"))

    assert event["status"] == "error"
    assert "metrika_no_such_conn" in event["message"]


def test_serialize_round_trips_json_primitives_without_the_token(metrika_conn: str) -> None:
    trigger = make_trigger(["a", "b"], not_before="2024-01-10T11:56:00Z")

    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

    assert rebuilt.serialize() == (classpath, kwargs)
    assert set(kwargs) == {
        "metrika_conn_id",
        "counter_id",
        "uploading_ids",
        "poll_interval",
        "deadline",
        "not_before",
    }
    assert kwargs["uploading_ids"] == ["a", "b"]
    assert isinstance(kwargs["deadline"], float)
    assert TOKEN not in json.dumps(kwargs)


def test_from_uploadings_takes_ids_oldest_datetime_and_a_deadline() -> None:
    uploadings = [
        {"uploading_id": "new", "datetime": "2024-01-10T12:00:05Z"},
        {"uploading_id": "old", "datetime": "2024-01-10T11:59:00Z"},
    ]
    before = time.time()

    trigger = MetrikaUploadingTrigger.from_uploadings(
        counter_id=COUNTER, uploadings=uploadings, poll_interval=5, timeout=60
    )

    assert trigger.uploading_ids == ["new", "old"]
    assert trigger.not_before == "2024-01-10T11:59:00Z"
    assert before + 60 <= trigger.deadline <= time.time() + 60


async def test_a_still_pending_trigger_keeps_running_until_cancelled(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(listing_delay=60)
    trigger = make_trigger([upload(metrika_conn)["uploading_id"]], seconds=60)
    events = trigger.run()
    assert isinstance(events, AsyncGenerator)
    waiting = asyncio.ensure_future(anext(events))

    await until("second poll", lambda: trigger.polls >= 2)

    assert not waiting.done(), "no event while the uploading is pending"
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await events.aclose()
    polls = trigger.polls
    await asyncio.sleep(POLL * 10)
    assert trigger.polls == polls, "nothing polls after cancellation"


async def test_polling_three_uploadings_costs_one_request_per_poll(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    hook = MetrikaHook(metrika_conn)
    # More older uploadings than one page holds: paging back past them would cost a second request.
    for _ in range(101):
        upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV))
    await asyncio.sleep(1.1)  # datetimes have second precision: make the three strictly newer
    metrika.configure(hold_listing=True)
    uploadings = [upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV)) for _ in range(3)]
    trigger = MetrikaUploadingTrigger.from_uploadings(
        counter_id=COUNTER, uploadings=uploadings, poll_interval=0.1, timeout=120
    )
    running = asyncio.ensure_future(run_to_end(trigger, limit=120))

    await until("third poll", lambda: trigger.polls >= 3)  # the uploadings pending for several polls
    metrika.release()
    [event] = await running

    polls = metrika.api_requests(path_contains="last_uploadings")
    assert event["status"] == "success"
    assert len(polls) <= trigger.polls
    # The poll interval, from the emulator's clock: a loaded machine only stretches the gaps.
    moments = [datetime.fromisoformat(poll["received_at"]) for poll in polls]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]
    assert min(gaps) >= 0.1 - 0.01, gaps


class _Lines:
    """A logger that keeps the formatted lines of every level."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _keep(self, message: str, *args: Any, **_: Any) -> None:
        self.lines.append(message % args)

    info = warning = error = debug = exception = _keep


@pytest.mark.parametrize(("every", "one_per_poll"), [(3600.0, False), (0.0, True)])
async def test_the_status_seen_is_logged_on_change_and_then_once_per_interval_not_per_poll(
    metrika: EmulatorClient,
    metrika_conn: str,
    monkeypatch: pytest.MonkeyPatch,
    every: float,
    one_per_poll: bool,
) -> None:
    monkeypatch.setattr("airflow_provider_metrika.progress.STATUS_EVERY_SECONDS", every)
    metrika.configure(status_delay=3600)
    uploading_id = upload(metrika_conn)["uploading_id"]
    trigger = make_trigger([uploading_id])
    log = _Lines()
    trigger._log = log  # type: ignore[assignment]
    running = asyncio.ensure_future(run_to_end(trigger, limit=120))

    await until("fourth poll", lambda: trigger.polls >= 4)  # IN_PROGRESS for several polls
    metrika.configure(status_delay=0.0)
    [event] = await running

    assert event["status"] == "success"
    waiting = [line for line in log.lines if line.startswith("Waiting for Metrika to validate: ")]
    if one_per_poll:
        assert len(waiting) == trigger.polls - 1, waiting  # every poll but the last, which succeeded
    else:
        assert waiting == [f"Waiting for Metrika to validate: {uploading_id} (last status IN_PROGRESS)"]


async def test_the_token_is_registered_for_masking_off_the_event_loop_thread(
    metrika: EmulatorClient, metrika_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Airflow 3.0 and 3.1 the registration sends to the triggerer's supervisor synchronously,
    # which fails (or is skipped) on the event loop's own thread.
    import threading

    from airflow_provider_metrika.hooks import connection

    registered: list[tuple[str, int]] = []
    real = connection.mask_secret

    def spy(secret: str, name: str | None = None) -> None:
        registered.append((secret, threading.get_ident()))
        real(secret, name)

    monkeypatch.setattr(connection, "mask_secret", spy)
    loop_thread = threading.get_ident()

    await MetrikaHook(metrika_conn).alist_uploadings(COUNTER)

    assert [secret for secret, _ in registered] == [TOKEN]
    assert all(thread != loop_thread for _, thread in registered), "registered on the event loop's thread"
    assert TOKEN not in str(importlib.import_module("airflow_provider_metrika._compat").redact(f"x {TOKEN}"))
