"""
The delivery engine in process, against the emulator over HTTP: every journal state times every failure class.

Each case starts from what a journal can hold for a part (nothing; accepted; an open send that
Metrika lists; an open send it does not), injects one kind of failure into the POST, and checks
the engine's result, the POSTs that reached the emulator and how many times the part's rows were
stored, against an oracle written from the rules in ``delivery/engine.py``'s docstring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_metrika.delivery.engine import DeliveryEngine, local_parts
from airflow_provider_metrika.delivery.journal import MemoryUploadJournal, UploadRecord, part_key, upload_key
from airflow_provider_metrika.delivery.manifest import PlannedPart
from airflow_provider_metrika.delivery.simple_orders import SimpleOrdersEndpoint
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaApiError,
    MetrikaBadRequestError,
    MetrikaConnectionError,
    MetrikaSourceChangedError,
    MetrikaUploadUncertainError,
    api_error_from_response,
)
from airflow_provider_metrika.hooks.failures import FAILURE_RULES, Failure, classify, render_failure_table
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER

STATES = ["none", "accepted", "sending_listed", "sending_unlisted"]
FAULTS: dict[str, dict[str, Any] | None] = {
    "ok": None,
    "429 quota": {"status": 429},
    "400 rejected": {"status": 400},
    "504 before storing": {"status": 504},
    "504 after storing": {"status": 504, "after_processing": True},
    "dropped after storing": {"drop": "after"},
}
HARMLESS = {True: ("SAVE", "e-1"), False: ("APPEND", "")}


def oracle(state: str, fault: str, harmless: bool) -> tuple[str, int, int]:
    """Return (result, POSTs, copies stored) as the rules say."""
    if state in ("accepted", "sending_listed"):
        return "delivered", 0, 1  # not sent again: recorded, or found listed under its unique name
    if state == "sending_unlisted" and not harmless:
        return "uncertain", 0, 0
    return {
        "ok": ("delivered", 1, 1),
        "429 quota": ("delivered", 2, 1),
        "400 rejected": ("rejected", 1, 0),
        "504 before storing": ("delivered", 2, 1) if harmless else ("uncertain", 1, 0),
        "504 after storing": ("delivered", 1, 1),  # found listed, not sent again
        "dropped after storing": ("delivered", 1, 1),
    }[fault]


def _part(tmp_path: Path, order_id: str, name: str = "part.csv") -> tuple[PlannedPart, Path]:
    path = tmp_path / name
    path.write_bytes(f"id,create_date_time,emails\n{order_id},2024-01-09 10:00:00,a@example.com\n".encode())
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return PlannedPart(1, sha, 1, 0 if order_id else 1, path.stat().st_size), path


def _copies(metrika: EmulatorClient, order_id: str) -> int:
    stored = metrika.orders(COUNTER)
    if order_id:
        return int(stored["applied_counts"].get(order_id, 0))
    return len(stored["orders_without_id"])


def _engine(hook: MetrikaHook, mode: str, journal: MemoryUploadJournal, **kwargs: Any) -> DeliveryEngine:
    endpoint = SimpleOrdersEndpoint(hook, COUNTER, mode, "COMMA")
    return DeliveryEngine.through(
        hook, endpoint, journal, owner="dag\nrun\nupload\n-1", attempt="try-2", **kwargs
    )


def _earlier(hook: MetrikaHook, engine: DeliveryEngine, state: str, part: PlannedPart, path: Path) -> None:
    """Leave in the journal what an earlier attempt left for the part."""
    if state == "none":
        return
    key = part_key(engine.endpoint.destination_key, engine.owner, part.position, part.sha256)
    name = f"earlier-{state}.csv"
    record = UploadRecord.sending(name, part.rows, COUNTER, attempt="try-1")
    if state in ("accepted", "sending_listed"):
        uploading = hook.post_simple_orders(COUNTER, path, name, merge_mode=engine.endpoint.merge_mode)  # type: ignore[attr-defined]
        if state == "accepted":
            record = record.accepted(uploading)
    engine.journal.write(key, record)


@pytest.mark.parametrize("harmless", [True, False], ids=["SAVE with ids", "APPEND without ids"])
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("state", STATES)
def test_each_journal_state_and_failure_ends_as_the_rules_say(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, state: str, fault: str, harmless: bool
) -> None:
    mode, order_id = HARMLESS[harmless]
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0.3)
    engine = _engine(hook, mode, MemoryUploadJournal())
    part, path = _part(tmp_path, order_id)
    _earlier(hook, engine, state, part, path)
    before = len(metrika.api_requests(path_contains="simple_orders"))
    if FAULTS[fault] is not None:
        metrika.inject_faults({"target": "upload", **FAULTS[fault]})  # type: ignore[dict-item]

    try:
        engine.send(part, local_parts({1: path}))
        result = "delivered"
    except MetrikaUploadUncertainError:
        result = "uncertain"
    except MetrikaBadRequestError:
        result = "rejected"

    posts = len(metrika.api_requests(path_contains="simple_orders")) - before
    assert (result, posts, _copies(metrika, order_id)) == oracle(state, fault, harmless)
    record = engine.journal.read(part_key(engine.endpoint.destination_key, engine.owner, 1, part.sha256))
    expected_state = {"delivered": "accepted", "rejected": "rejected", "uncertain": "sending"}[result]
    assert (record.state if record else None) == expected_state, "rejected: kept, never replayed"


def test_identical_parts_at_two_places_are_two_uploads(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    hook = MetrikaHook(metrika_conn)
    engine = _engine(hook, "APPEND", MemoryUploadJournal())
    first, path = _part(tmp_path, "")
    second = PlannedPart(2, first.sha256, 1, 1, first.bytes)

    manifest = engine.plan([first, second])
    uploads = engine.deliver(manifest, local_parts({1: path, 2: path}))

    assert len({u["uploading_id"] for u in uploads}) == 2
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert _copies(metrika, "") == 2, "two customers' identical rows both reach Metrika"


def test_force_resend_applies_to_an_earlier_attempts_send_only(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0.3)
    part, path = _part(tmp_path, "")
    journal = MemoryUploadJournal()
    engine = _engine(hook, "APPEND", journal, force_resend=True)
    key = part_key(engine.endpoint.destination_key, engine.owner, 1, part.sha256)

    journal.write(key, UploadRecord.sending("this-attempt.csv", 1, COUNTER, attempt="try-2"))
    with pytest.raises(MetrikaUploadUncertainError):
        engine.send(part, local_parts({1: path}))
    assert metrika.api_requests(path_contains="simple_orders") == []

    journal.write(key, UploadRecord.sending("earlier-attempt.csv", 1, COUNTER, attempt="try-1"))
    engine.send(part, local_parts({1: path}))
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1
    assert _copies(metrika, "") == 1


def test_a_record_of_an_older_version_is_resolved_by_its_content_key(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    hook = MetrikaHook(metrika_conn)
    part, path = _part(tmp_path, "")
    journal = MemoryUploadJournal()
    engine = _engine(hook, "APPEND", journal)
    uploading = hook.post_simple_orders(COUNTER, path, "old.csv", merge_mode="APPEND")
    old_key = upload_key(engine.endpoint.base_url, COUNTER, "APPEND", "COMMA", part.sha256)  # type: ignore[attr-defined]
    journal.write(old_key, UploadRecord.sending("old.csv", 1, COUNTER).accepted(uploading))

    [again] = engine.deliver(engine.plan([part]), local_parts({1: path}))

    assert again == uploading
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1


def test_a_retry_whose_source_moved_refuses_before_sending_when_a_resend_would_duplicate(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    hook = MetrikaHook(metrika_conn, retry_limit=0)
    journal = MemoryUploadJournal()
    engine = _engine(hook, "APPEND", journal)
    one, path_one = _part(tmp_path, "", "one.csv")
    two = PlannedPart(2, "b" * 64, 1, 1, one.bytes)
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1})
    with pytest.raises(MetrikaApiError):
        engine.deliver(engine.plan([one, two]), local_parts({1: path_one, 2: path_one}))
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2

    moved = PlannedPart(1, "c" * 64, 1, 1, one.bytes)
    retry = _engine(hook, "APPEND", journal, stage_hint="give archive_path=")
    with pytest.raises(
        MetrikaSourceChangedError, match=r"part\(s\) 1 of the first attempt's 2 were already sent"
    ) as caught:
        retry.plan([moved, PlannedPart(2, "d" * 64, 1, 1, one.bytes)])

    # The kind's words: its re-send rule and fix; the caller's: how to stage the parts.
    assert "rows lacking an order id, or merge_mode APPEND" in str(caught.value)
    assert "give archive_path= so that retries send" in str(caught.value)
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2, "nothing more was sent"
    assert _copies(metrika, "") == 1


def test_a_retry_whose_source_moved_sends_the_new_parts_when_that_is_harmless(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    hook = MetrikaHook(metrika_conn, retry_limit=0)
    journal = MemoryUploadJournal()
    engine = _engine(hook, "SAVE", journal)
    one, path_one = _part(tmp_path, "e-1", "one.csv")
    metrika.inject_faults({"target": "upload", "status": 429, "skip": 1})
    with pytest.raises(MetrikaApiError):
        engine.deliver(
            engine.plan([one, PlannedPart(2, one.sha256, 1, 0, one.bytes)]),
            local_parts({1: path_one, 2: path_one}),
        )

    moved, moved_path = _part(tmp_path, "e-9", "moved.csv")
    retry = _engine(hook, "SAVE", journal)
    plan = retry.plan([moved])
    uploads = retry.deliver(plan, local_parts({1: moved_path}))

    assert [p.sha256 for p in plan.parts] == [moved.sha256]
    assert len(uploads) == 1
    assert set(metrika.orders(COUNTER)["orders"]) == {"e-1", "e-9"}


def test_the_failure_table_names_only_quota_answers_and_unopened_connections_as_refused() -> None:
    def error(status: int, error_type: str | None = None) -> MetrikaApiError:
        body = {"errors": [{"error_type": error_type, "message": "m"}]} if error_type else {}
        import json

        return api_error_from_response(status, json.dumps(body))

    assert classify(error(429)) is Failure.REFUSED
    assert classify(error(420, "quota_requests_by_uid")) is Failure.REFUSED
    assert classify(error(420)) is Failure.REJECTED
    for status in (400, 401, 403, 404, 406, 409):
        assert classify(error(status)) is Failure.REJECTED
    for status in (500, 502, 503, 504):
        assert classify(error(status)) is Failure.LOST
    assert classify(MetrikaConnectionError("refused", request_sent=False)) is Failure.REFUSED
    assert classify(MetrikaConnectionError("reset")) is Failure.LOST
    table = render_failure_table()
    assert all(rule.what in table for rule in FAILURE_RULES)


def test_the_docs_failure_table_is_the_engines() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "delivery.md").read_text()

    assert render_failure_table() in page, "refresh it from hooks.failures.render_failure_table()"
