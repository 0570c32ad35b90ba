"""The emulated offline conversions API, over real HTTP: files, rows, statuses, window, scopes, faults."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, TOKEN, csv_bytes, error_of
from tests.emulator.offline_helpers import PAST, OfflineApi

HEADER = "ClientId,Target,DateTime,Price,Currency"
GOOD = csv_bytes(HEADER, f"111,paid,{PAST},100.5,RUB", f"222,paid,{PAST + 60},,")


@pytest.fixture
def offline(emulator: EmulatorClient) -> OfflineApi:
    return OfflineApi(emulator.base_url)


def test_upload_answers_metrikas_uploading_object_with_the_comment(offline: OfflineApi) -> None:
    uploading = offline.uploading(GOOD, comment="run42Заказы", client_id_type="CLIENT_ID")
    assert set(uploading) == {
        "id",
        "create_time",
        "source_quantity",
        "line_quantity",
        "comment",
        "client_id_type",
        "status",
        "linked_quantity",
    }
    assert isinstance(uploading["id"], int)
    assert (uploading["comment"], uploading["client_id_type"], uploading["status"]) == (
        "run42Заказы",
        "CLIENT_ID",
        "UPLOADED",
    )
    assert (uploading["source_quantity"], uploading["line_quantity"]) == (2, 2)
    assert offline.status(uploading["id"])["comment"] == "run42Заказы"
    assert offline.listed()[0]["comment"] == "run42Заказы"


@pytest.mark.parametrize("comment", ["a b", "run-1", "run_1", "x:y", "é", "a" * 256])
def test_a_comment_with_other_characters_or_too_long_is_refused(
    offline: OfflineApi, emulator: EmulatorClient, comment: str
) -> None:
    response = offline.upload(GOOD, comment=comment, client_id_type="CLIENT_ID")
    assert error_of(response) == (400, "invalid_parameter")
    assert emulator.conversions_uploadings(COUNTER) == []


def test_a_comment_of_255_letters_and_digits_is_accepted(offline: OfflineApi) -> None:
    comment = "Ab1Ё" * 63 + "xyz"
    assert offline.uploading(GOOD, comment=comment)["comment"] == comment


def test_header_names_are_read_without_case_or_punctuation_in_any_order(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    content = csv_bytes(" date_time ,TARGET,Client-ID", f"{PAST},paid,111")
    uploading = offline.uploading(content, comment="c1")
    assert (uploading["client_id_type"], uploading["line_quantity"]) == ("CLIENT_ID", 1)
    (stored,) = emulator.stored_conversions(COUNTER)
    assert (stored["ClientId"], stored["Target"], stored["DateTime"]) == ("111", "paid", str(PAST))


@pytest.mark.parametrize(
    ("content", "params", "words"),
    [
        (b"", {}, "empty"),
        (b"\n\n", {}, "empty"),
        (csv_bytes(HEADER), {}, "no data rows"),
        (csv_bytes(HEADER, f"111,paid,{PAST}"), {}, "malformed line 2"),
        (csv_bytes("ClientId,DateTime", f"111,{PAST}"), {}, "Target is missing"),
        (csv_bytes("Target,DateTime", f"paid,{PAST}"), {}, "one of"),
        (csv_bytes("ClientId,Target,DateTime,Colour", f"1,paid,{PAST},red"), {}, "unknown column"),
        (csv_bytes("ClientId,Target,DateTime,ClientId", f"1,paid,{PAST},1"), {}, "twice"),
        (csv_bytes("ClientId,Yclid,Target,DateTime", f"1,2,paid,{PAST}"), {}, "one identifier type"),
        (GOOD, {"client_id_type": "YCLID"}, "Yclid is missing"),
        (csv_bytes(HEADER, f'111,"paid,{PAST},1,RUB'), {}, "malformed"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "header-only",
        "short-line",
        "no-target",
        "no-identifier",
        "unknown-column",
        "column-twice",
        "two-identifier-types",
        "identifier-type-not-in-file",
        "runaway-quote",
    ],
)
def test_a_bad_file_is_refused_whole_and_nothing_is_stored(
    offline: OfflineApi, emulator: EmulatorClient, content: bytes, params: dict[str, Any], words: str
) -> None:
    response = offline.upload(content, comment="c1", **params)
    assert error_of(response) == (400, "invalid_uploading")
    assert words in response.json()["message"]
    assert emulator.stored_conversions(COUNTER) == []
    assert offline.listed() == []


def test_invalid_rows_are_dropped_silently_and_counted(offline: OfflineApi, emulator: EmulatorClient) -> None:
    future = PAST + 10 * 86_400
    content = csv_bytes(
        HEADER,
        f"111,paid,{PAST},100,RUB",  # kept
        f"1.2e+18,paid,{PAST},1,RUB",  # float-mangled ClientId: dropped
        f",paid,{PAST},1,RUB",  # empty identifier: dropped
        f"333,,{PAST},1,RUB",  # empty Target: dropped
        f"444,paid,{future},1,RUB",  # future DateTime: dropped
        "555,paid,2024-01-10 10:00,1,RUB",  # not Unix seconds: dropped
        f"666,paid,{PAST}.5,12;50,rub",  # bad Price and Currency: kept, values emptied
        "",  # a blank line is not a row
    )
    uploading = offline.uploading(content, comment="c1", client_id_type="CLIENT_ID")
    assert (uploading["source_quantity"], uploading["line_quantity"]) == (7, 2)
    stored = {row["ClientId"]: row for row in emulator.stored_conversions(COUNTER)}
    assert set(stored) == {"111", "666"}
    assert (stored["666"]["Price"], stored["666"]["Currency"]) == ("", "")
    (control,) = emulator.conversions_uploadings(COUNTER)
    assert [drop["line"] for drop in control["details"]["dropped"]] == [3, 4, 5, 6, 7]


def test_a_re_sent_conversion_overwrites_the_stored_one(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    offline.uploading(csv_bytes(HEADER, f"111,paid,{PAST},100,RUB"), comment="first")
    offline.uploading(csv_bytes(HEADER, f"111,paid,{PAST}.0,250,RUB"), comment="second")
    (stored,) = emulator.stored_conversions(COUNTER)
    assert (stored["Price"], stored["writes"]) == ("250", 2)
    offline.uploading(csv_bytes(HEADER, f"111,paid,{PAST + 1},250,RUB"), comment="third")
    offline.uploading(csv_bytes(HEADER, f"111,other,{PAST + 1},250,RUB"), comment="fourth")
    assert len(emulator.stored_conversions(COUNTER)) == 3


def test_the_same_id_as_another_identifier_type_is_another_conversion(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    offline.uploading(csv_bytes("ClientId,Target,DateTime", f"111,paid,{PAST}"), comment="a")
    offline.uploading(
        csv_bytes("Yclid,Target,DateTime", f"111,paid,{PAST}"), comment="b", client_id_type="YCLID"
    )
    assert sorted(row["client_id_type"] for row in emulator.stored_conversions(COUNTER)) == [
        "CLIENT_ID",
        "YCLID",
    ]


def test_status_moves_from_uploaded_through_matched_to_processed_over_reads(offline: OfflineApi) -> None:
    uploading = offline.uploading(GOOD, comment="c1")
    assert (uploading["status"], uploading["linked_quantity"]) == ("UPLOADED", 0)
    first = offline.status(uploading["id"])
    assert (first["status"], first["linked_quantity"]) == ("MATCHED", 2)
    assert offline.status(uploading["id"])["status"] == "PROCESSED"
    assert offline.listed()[0]["status"] == "PROCESSED"


def test_a_file_whose_rows_do_not_link_ends_in_linkage_failure(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.configure_offline(COUNTER, unlinked_identifiers=["111", "222"])
    uploading = offline.uploading(GOOD, comment="c1")
    offline.status(uploading["id"])
    final = offline.status(uploading["id"])
    assert (final["status"], final["linked_quantity"], final["line_quantity"]) == ("LINKAGE_FAILURE", 0, 2)


def test_a_partly_linked_file_is_processed_with_the_linked_count(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.configure_offline(COUNTER, unlinked_identifiers=["222"])
    uploading = offline.uploading(GOOD, comment="c1")
    offline.listed()  # a listing is a read too
    final = offline.status(uploading["id"])
    assert (final["status"], final["linked_quantity"]) == ("PROCESSED", 1)


def test_hold_processing_keeps_uploadings_uploaded_until_released(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.configure_offline(COUNTER, hold_processing=True)
    uploading = offline.uploading(GOOD, comment="c1")
    for _ in range(3):
        assert offline.status(uploading["id"])["status"] == "UPLOADED"
    emulator.release()
    assert [offline.status(uploading["id"])["status"] for _ in range(2)] == ["MATCHED", "PROCESSED"]


def test_control_reads_do_not_move_a_status(offline: OfflineApi, emulator: EmulatorClient) -> None:
    uploading = offline.uploading(GOOD, comment="c1")
    for _ in range(3):
        (control,) = emulator.conversions_uploadings(COUNTER)
    assert (control["status"], control["final_status"], control["polls"]) == ("UPLOADED", "PROCESSED", 0)
    assert offline.status(uploading["id"])["status"] == "MATCHED"


def test_list_is_newest_first_with_limit_and_offset(offline: OfflineApi) -> None:
    for comment in ("one", "two", "three"):
        offline.uploading(GOOD, comment=comment)
    assert [u["comment"] for u in offline.listed()] == ["three", "two", "one"]
    assert [u["comment"] for u in offline.listed(limit=1, offset=1)] == ["two"]
    assert error_of(offline.get("/uploadings", limit=0)) == (400, "invalid_parameter")


def test_an_unknown_uploading_is_not_found(offline: OfflineApi) -> None:
    assert error_of(offline.get("/uploading/999")) == (404, "not_found")


def test_window_gate_refuses_uploads_before_the_threshold(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    opens = date.today() + timedelta(days=3)
    emulator.configure_offline(COUNTER, visit_join_threshold=opens)
    assert offline.get("/visit_join_threshold").json() == {"date": opens.isoformat()}
    response = offline.upload(GOOD, comment="c1")
    assert error_of(response)[0] == 400
    assert f"upload becomes available on {opens.isoformat()}" in response.json()["message"]
    assert emulator.stored_conversions(COUNTER) == []
    # Calls have a window of their own.
    assert offline.uploading(csv_bytes("ClientId,DateTime", f"1,{PAST}"), kind="calls")["line_quantity"] == 1
    emulator.configure_offline(COUNTER, visit_join_threshold=None)
    assert offline.uploading(GOOD, comment="c2")["line_quantity"] == 2


def test_the_window_is_open_by_default(offline: OfflineApi) -> None:
    opens = date.fromisoformat(offline.get("/visit_join_threshold").json()["date"])
    assert opens <= date.today()


@pytest.mark.parametrize(
    ("scopes", "upload_status", "read_status"),
    [
        (["metrika:offline_data"], 200, 403),
        (["metrika:write"], 200, 403),
        (["metrika:read"], 403, 200),
        (["metrika:offline_data", "metrika:read"], 200, 200),
    ],
)
def test_upload_needs_offline_data_or_write_and_reads_need_read(
    offline: OfflineApi, emulator: EmulatorClient, scopes: list[str], upload_status: int, read_status: int
) -> None:
    emulator.configure(tokens={TOKEN: None, "scoped": {"counters": None, "scopes": scopes}})
    assert offline.upload(GOOD, comment="c1", token="scoped").status_code == upload_status
    uploading_id = offline.uploading(GOOD, comment="c2")["id"]
    for path in ("/uploadings", f"/uploading/{uploading_id}", "/visit_join_threshold"):
        assert offline.get(path, token="scoped").status_code == read_status


def test_an_answer_dropped_after_storing_leaves_the_upload_listed_by_its_comment(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "conversions_upload", "drop": "after"})
    with pytest.raises(requests.ConnectionError):
        offline.upload(GOOD, comment="lostAnswer1")
    assert [u["comment"] for u in offline.listed()] == ["lostAnswer1"]
    assert len(emulator.stored_conversions(COUNTER)) == 2


def test_a_5xx_before_processing_stores_nothing_and_after_processing_stores(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults(
        {"target": "conversions_upload", "status": 503},
        {"target": "conversions_upload", "status": 503, "after_processing": True},
    )
    assert error_of(offline.upload(GOOD, comment="before")) == (503, "backend_error")
    assert emulator.stored_conversions(COUNTER) == []
    assert error_of(offline.upload(GOOD, comment="after")) == (503, "backend_error")
    assert [u["comment"] for u in offline.listed()] == ["after"]
    (logged, *_) = emulator.api_requests(path_contains="offline_conversions/upload")
    assert logged["multipart"][0]["name"] == "file"


def test_within_status_delay_an_uploading_stays_uploaded(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.configure(status_delay=600)
    uploading = offline.uploading(GOOD, comment="c1")
    assert [offline.status(uploading["id"])["status"] for _ in range(3)] == ["UPLOADED"] * 3
    emulator.configure(status_delay=0)
    assert offline.status(uploading["id"])["status"] == "MATCHED"


def test_rows_of_dropped_identifiers_are_dropped_and_counted(
    offline: OfflineApi, emulator: EmulatorClient
) -> None:
    emulator.configure_offline(COUNTER, dropped_identifiers=["111"])
    content = csv_bytes("DateTime,Target,ClientId", f"{PAST},paid,111", f"{PAST},paid,42")
    answer = offline.uploading(content, comment="dropone")
    assert (answer["source_quantity"], answer["line_quantity"]) == (2, 1)
    assert [row["ClientId"] for row in emulator.stored_conversions(COUNTER)] == ["42"]
