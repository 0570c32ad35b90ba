"""The emulated calls API (``upload_calls``) over real HTTP: static calls, appends, window, scopes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, TOKEN, csv_bytes, error_of
from tests.emulator.offline_helpers import PAST, OfflineApi

HEADER = "ClientId,DateTime,StaticCall,PhoneNumber,TalkDuration,HoldDuration,CallMissed,Price,Currency"
CALLS = csv_bytes(
    HEADER,
    f"111,{PAST},0,+70123456789,120,5,0,300,RUB",
    f"222,{PAST + 60},1,+70123456789,60,0,0,,",
)


@pytest.fixture
def offline(emulator: EmulatorClient) -> OfflineApi:
    return OfflineApi(emulator.base_url)


def test_calls_upload_counts_static_and_dynamic_calls(offline: OfflineApi) -> None:
    uploading = offline.uploading(CALLS, kind="calls", comment="calls1", new_goal_name="Calls")
    assert (uploading["static_calls_quantity"], uploading["dynamic_calls_quantity"]) == (1, 1)
    assert (uploading["comment"], uploading["client_id_type"], uploading["status"]) == (
        "calls1",
        "CLIENT_ID",
        "UPLOADED",
    )
    statuses = [offline.status(uploading["id"], "calls")["status"] for _ in range(2)]
    assert statuses == ["MATCHED", "PROCESSED"]
    assert offline.listed("calls")[0]["linked_quantity"] == 1


def test_a_file_of_static_calls_only_ends_in_linkage_failure(offline: OfflineApi) -> None:
    content = csv_bytes("UserId,DateTime,StaticCall", f"u1,{PAST},1", f"u2,{PAST},1")
    uploading = offline.uploading(content, kind="calls", comment="static")
    offline.status(uploading["id"], "calls")
    final = offline.status(uploading["id"], "calls")
    assert (final["status"], final["line_quantity"], final["static_calls_quantity"]) == (
        "LINKAGE_FAILURE",
        2,
        2,
    )


def test_a_re_sent_call_is_stored_twice(offline: OfflineApi, emulator: EmulatorClient) -> None:
    offline.uploading(CALLS, kind="calls", comment="a")
    offline.uploading(CALLS, kind="calls", comment="b")
    assert [row["ClientId"] for row in emulator.stored_calls(COUNTER)] == ["111", "222", "111", "222"]
    assert emulator.stored_conversions(COUNTER) == []


def test_invalid_call_rows_are_dropped_and_invalid_optional_values_kept(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    content = csv_bytes(
        HEADER,
        f"111,{PAST},2,0123 45,-1,99999999999,yes,1,RUB",  # bad optional values: kept, emptied
        f"abc,{PAST},0,,,,,,",  # ClientId not digits: dropped
        f"333,{PAST + 10 * 86_400},0,,,,,,",  # future: dropped
    )
    uploading = offline.uploading(content, kind="calls", comment="c")
    assert (uploading["source_quantity"], uploading["line_quantity"]) == (3, 1)
    (stored,) = emulator.stored_calls(COUNTER)
    assert [
        stored[c] for c in ("StaticCall", "PhoneNumber", "TalkDuration", "HoldDuration", "CallMissed")
    ] == [
        "",
        "",
        "",
        "",
        "",
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (csv_bytes("PurchaseId,DateTime", f"p1,{PAST}"), "unknown column"),
        (csv_bytes("ClientId,StaticCall", "1,0"), "DateTime is missing"),
        (csv_bytes("ClientId,Target,DateTime", f"1,paid,{PAST}"), "unknown column"),
    ],
    ids=["purchase-id", "no-datetime", "target"],
)
def test_a_bad_calls_file_is_refused(offline: OfflineApi, content: bytes, words: str) -> None:
    response = offline.upload(content, kind="calls", comment="c")
    assert error_of(response) == (400, "invalid_uploading")
    assert words in response.json()["message"]


def test_calls_comment_rule_and_window(offline: OfflineApi, emulator: EmulatorClient) -> None:
    assert error_of(offline.upload(CALLS, kind="calls", comment="not ok")) == (400, "invalid_parameter")
    opens = date.today() + timedelta(days=3)  # later than today in any time zone
    emulator.configure_offline(COUNTER, calls_visit_join_threshold=opens.isoformat())
    assert offline.get("/calls_visit_join_threshold").json() == {"date": opens.isoformat()}
    response = offline.upload(CALLS, kind="calls", comment="c")
    assert f"upload becomes available on {opens.isoformat()}" in response.json()["message"]
    assert emulator.stored_calls(COUNTER) == []


@pytest.mark.parametrize(
    ("scopes", "upload_status", "read_status"),
    [(["metrika:offline_data"], 200, 403), (["metrika:read"], 403, 200)],
)
def test_calls_scopes(
    offline: OfflineApi, emulator: EmulatorClient, scopes: list[str], upload_status: int, read_status: int
) -> None:
    emulator.configure(tokens={TOKEN: None, "scoped": {"counters": None, "scopes": scopes}})
    assert offline.upload(CALLS, kind="calls", comment="c1", token="scoped").status_code == upload_status
    uploading_id = offline.uploading(CALLS, kind="calls", comment="c2")["id"]
    for path in ("/calls_uploadings", f"/calls_uploading/{uploading_id}", "/calls_visit_join_threshold"):
        assert offline.get(path, token="scoped").status_code == read_status


def test_a_dropped_calls_answer_after_storing_is_listed_by_comment(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "calls_upload", "drop": "after"})
    with pytest.raises(requests.ConnectionError):
        offline.upload(CALLS, kind="calls", comment="lostCalls")
    assert [u["comment"] for u in offline.listed("calls")] == ["lostCalls"]
    assert offline.listed() == []  # conversions are listed apart
    assert len(emulator.stored_calls(COUNTER)) == 2


def test_reset_forgets_offline_data_and_settings(offline: OfflineApi, emulator: EmulatorClient) -> None:
    emulator.configure_offline(COUNTER, hold_processing=True, unlinked_identifiers=["1"])
    offline.uploading(CALLS, kind="calls", comment="c")
    emulator.reset()
    assert emulator.stored_calls(COUNTER) == []
    assert emulator.offline(COUNTER)["settings"] == {
        "visit_join_threshold": None,
        "calls_visit_join_threshold": None,
        "unlinked_identifiers": [],
        "dropped_identifiers": [],
        "hold_processing": False,
    }


def test_bad_offline_settings_are_refused(emulator: EmulatorClient) -> None:
    with pytest.raises(requests.HTTPError):
        emulator.configure_offline(COUNTER, hold_processing="yes")
    with pytest.raises(requests.HTTPError):
        emulator.configure_offline(COUNTER, visit_join_threshold="tomorrow")
    with pytest.raises(requests.HTTPError):
        emulator.configure_offline(COUNTER, colour="red")
