"""MetrikaHook's offline conversions and calls methods over real HTTP against the emulator."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaBadRequestError,
    MetrikaConnectionError,
    MetrikaError,
    MetrikaInvalidArgumentError,
    MetrikaNotFoundError,
    MetrikaServerError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER, SCOPED_TOKENS, TOKEN, connection_json

# The start of a UTC day two days ago: the same in every process of a test run.
PAST = (int(time.time()) // 86_400 - 2) * 86_400
CONVERSIONS = (
    "ClientId,Target,DateTime,Price,Currency\n"
    f"111,paid,{PAST},100,RUB\n"
    f"222,paid,{PAST + 60},50,RUB\n"
    f"1.2e+18,paid,{PAST},1,RUB\n"  # float-mangled: Metrika drops it without an error
).encode()
CALLS = (
    f"ClientId,DateTime,StaticCall,PhoneNumber\n111,{PAST},0,+70123456789\n222,{PAST},1,+70123456789\n"
).encode()
READ_ONLY = next(token for token, scopes in SCOPED_TOKENS.items() if scopes == ["metrika:read"])
UPLOAD_ONLY = next(token for token, scopes in SCOPED_TOKENS.items() if scopes == ["metrika:offline_data"])


@pytest.fixture
def conversions_csv(tmp_path: Path) -> Path:
    path = tmp_path / "conversions.csv"
    path.write_bytes(CONVERSIONS)
    return path


@pytest.fixture
def hook(metrika_conn: str) -> MetrikaHook:
    return MetrikaHook(metrika_conn)


def _hook_with(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, token: str) -> MetrikaHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_SCOPED", connection_json(metrika.base_url, token=token, retry_delay=0.05)
    )
    return MetrikaHook("metrika_scoped")


def test_post_offline_conversions_streams_one_file_part_with_comment_and_type(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path
) -> None:
    uploading = hook.post_offline_conversions(
        COUNTER, conversions_csv, client_id_type="client_id", comment="run1", file_name="day.csv"
    )

    assert (uploading["status"], uploading["comment"], uploading["client_id_type"]) == (
        "UPLOADED",
        "run1",
        "CLIENT_ID",
    )
    assert (uploading["source_quantity"], uploading["line_quantity"]) == (3, 2)
    [request] = metrika.api_requests(path_contains="offline_conversions")
    assert request["path"] == f"/management/v1/counter/{COUNTER}/offline_conversions/upload"
    assert request["query"] == {"comment": "run1", "client_id_type": "CLIENT_ID"}
    assert request["headers"]["authorization"] == f"OAuth {TOKEN}"
    [part] = request["multipart"]
    assert (part["name"], part["filename"], part["content_type"]) == ("file", "day.csv", "text/csv")
    assert part["sha256"] == hashlib.sha256(CONVERSIONS).hexdigest()
    assert len(metrika.stored_conversions(COUNTER)) == 2


def test_post_reads_a_file_object_from_its_position_and_uses_the_default_counter(
    hook: MetrikaHook, metrika: EmulatorClient
) -> None:
    stream = io.BytesIO(b"junk" + CALLS)
    stream.seek(4)

    uploading = hook.post_calls(None, stream, comment="calls1", new_goal_name="Calls")

    assert (uploading["static_calls_quantity"], uploading["dynamic_calls_quantity"]) == (1, 1)
    [request] = metrika.api_requests(path_contains="upload_calls")
    assert request["query"] == {"comment": "calls1", "new_goal_name": "Calls"}
    assert request["multipart"][0]["sha256"] == hashlib.sha256(CALLS).hexdigest()


@pytest.mark.parametrize(
    ("comment", "words"),
    [
        ("run-1", "'-' at position 4"),
        ("run 1", "' ' at position 4"),
        ("", "non-empty"),
        ("a" * 256, "at most 255"),
        (42, "non-empty string"),
    ],
)
def test_a_comment_metrika_would_refuse_is_refused_before_any_request(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path, comment: str, words: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="comment") as caught:
        hook.post_offline_conversions(COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment=comment)
    assert words in str(caught.value)
    with pytest.raises(MetrikaInvalidArgumentError, match="comment"):
        hook.post_calls(COUNTER, conversions_csv, comment=comment)
    assert metrika.api_requests() == []


def test_a_comment_of_letters_and_digits_in_latin_and_cyrillic_passes(
    hook: MetrikaHook, conversions_csv: Path
) -> None:
    comment = "Заказы2024run" + "x" * 242
    uploading = hook.post_offline_conversions(
        COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment=comment
    )
    assert uploading["comment"] == comment


def test_other_bad_arguments_are_refused_before_any_request(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path, tmp_path: Path
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="client_id_type"):
        hook.post_offline_conversions(COUNTER, conversions_csv, client_id_type="EMAIL", comment="a")
    with pytest.raises(MetrikaInvalidArgumentError, match="does not exist"):
        hook.post_offline_conversions(COUNTER, tmp_path / "none.csv", client_id_type="CLIENT_ID", comment="a")
    with pytest.raises(MetrikaInvalidArgumentError, match="new_goal_name"):
        hook.post_calls(COUNTER, conversions_csv, comment="a", new_goal_name=" ")
    with pytest.raises(MetrikaInvalidArgumentError, match="uploading_id"):
        hook.get_offline_conversions_uploading(COUNTER, "12a")
    with pytest.raises(MetrikaInvalidArgumentError, match="limit"):
        hook.list_calls_uploadings(COUNTER, limit=0)
    with pytest.raises(MetrikaInvalidArgumentError, match="offset"):
        hook.list_offline_conversions_uploadings(COUNTER, offset=-1)
    assert metrika.api_requests() == []


def test_status_and_list_follow_the_uploading_to_its_end(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path
) -> None:
    metrika.configure_offline(COUNTER, unlinked_identifiers=["222"])
    first = hook.post_offline_conversions(COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="one")
    second = hook.post_offline_conversions(
        COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="two"
    )

    assert hook.get_offline_conversions_uploading(COUNTER, first["id"])["status"] == "MATCHED"
    final = hook.get_offline_conversions_uploading(COUNTER, str(first["id"]))
    assert (final["status"], final["linked_quantity"], final["line_quantity"]) == ("PROCESSED", 1, 2)
    assert [u["id"] for u in hook.list_offline_conversions_uploadings(COUNTER)] == [second["id"], first["id"]]
    assert [u["comment"] for u in hook.list_offline_conversions_uploadings(COUNTER, limit=1, offset=1)] == [
        "one"
    ]
    assert hook.list_calls_uploadings(COUNTER) == []
    assert len(metrika.stored_conversions(COUNTER)) == 2, "the same rows sent twice overwrite"


def test_calls_of_static_calls_only_end_in_linkage_failure(hook: MetrikaHook) -> None:
    static = f"UserId,DateTime,StaticCall\nu1,{PAST},1\n".encode()
    uploading = hook.post_calls(COUNTER, io.BytesIO(static), comment="static1")
    statuses = [hook.get_calls_uploading(COUNTER, uploading["id"])["status"] for _ in range(2)]
    assert statuses == ["MATCHED", "LINKAGE_FAILURE"]


def test_an_unknown_uploading_raises_not_found(hook: MetrikaHook) -> None:
    with pytest.raises(MetrikaNotFoundError):
        hook.get_calls_uploading(COUNTER, 123)


def test_thresholds_are_read_as_dates_and_the_gate_refusal_says_when(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path
) -> None:
    assert hook.get_offline_conversions_threshold(COUNTER) <= date.today()
    opens = date.today() + timedelta(days=3)  # later than today in any time zone
    metrika.configure_offline(COUNTER, calls_visit_join_threshold=opens)

    assert hook.get_calls_threshold(COUNTER) == opens
    with pytest.raises(MetrikaBadRequestError, match=f"upload becomes available on {opens.isoformat()}"):
        hook.post_calls(COUNTER, io.BytesIO(CALLS), comment="early")
    assert len(metrika.api_requests(path_contains="upload_calls")) == 1, "a 400 is not tried again"


def test_a_file_metrika_refuses_whole_raises_its_message(hook: MetrikaHook) -> None:
    with pytest.raises(MetrikaBadRequestError, match="Target is missing") as caught:
        hook.post_offline_conversions(
            COUNTER, io.BytesIO(b"ClientId,DateTime\n1,2\n"), client_id_type="CLIENT_ID", comment="a"
        )
    assert caught.value.error_type == "invalid_uploading"


def test_quota_answers_to_a_post_are_tried_again(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path
) -> None:
    metrika.inject_faults({"target": "conversions_upload", "status": 429, "retry_after": "0.1", "times": 2})

    uploading = hook.post_offline_conversions(
        COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="q"
    )

    assert uploading["line_quantity"] == 2
    assert len(metrika.api_requests(path_contains="offline_conversions/upload")) == 3
    assert len(metrika.conversions_uploadings(COUNTER)) == 1


@pytest.mark.parametrize("fault", [{"status": 503, "after_processing": True}, {"drop": "after"}])
def test_a_lost_answer_is_not_sent_again_and_the_upload_is_found_by_its_comment(
    hook: MetrikaHook, metrika: EmulatorClient, fault: dict[str, object]
) -> None:
    metrika.inject_faults({"target": "calls_upload", **fault})

    with pytest.raises((MetrikaServerError, MetrikaConnectionError)):
        hook.post_calls(COUNTER, io.BytesIO(CALLS), comment="lostRun7")

    assert len(metrika.api_requests(path_contains="upload_calls")) == 1, "never re-sent blindly"
    found = [u for u in hook.list_calls_uploadings(COUNTER) if u["comment"] == "lostRun7"]
    assert len(found) == 1
    assert found[0]["line_quantity"] == 2
    assert len(metrika.stored_calls(COUNTER)) == 2, "stored exactly once"


def test_reads_are_retried_after_a_server_error(hook: MetrikaHook, metrika: EmulatorClient) -> None:
    metrika.inject_faults({"target": "conversions_threshold", "status": 503})
    assert hook.get_offline_conversions_threshold(COUNTER) <= date.today()
    assert len(metrika.api_requests(path_contains="visit_join_threshold")) == 2


def test_access_errors_name_the_scope_each_call_needs(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, conversions_csv: Path
) -> None:
    with pytest.raises(MetrikaAccessDeniedError) as upload:
        _hook_with(metrika, monkeypatch, READ_ONLY).post_offline_conversions(
            COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="a"
        )
    assert "metrika:offline_data or metrika:write" in str(upload.value)
    assert "upload offline conversions or calls" in str(upload.value)
    with pytest.raises(MetrikaAccessDeniedError) as read:
        _hook_with(metrika, monkeypatch, UPLOAD_ONLY).get_calls_threshold(COUNTER)
    assert "lacks metrika:read" in str(read.value)


def test_token_never_appears_in_logs_or_errors(
    hook: MetrikaHook,
    metrika: EmulatorClient,
    conversions_csv: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    metrika.inject_faults(
        {"target": "conversions_upload", "status": 429}, {"target": "conversions_upload", "status": 500}
    )

    with pytest.raises(MetrikaError) as caught:
        hook.post_offline_conversions(COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="a")

    output = capsys.readouterr()
    assert "failed with HTTP 429" in output.out + caplog.text, "the retry was logged"
    assert TOKEN not in str(caught.value) + output.out + output.err + caplog.text


async def test_async_twins_read_one_uploading_of_each_kind(
    hook: MetrikaHook, metrika: EmulatorClient, conversions_csv: Path
) -> None:
    conversions = hook.post_offline_conversions(
        COUNTER, conversions_csv, client_id_type="CLIENT_ID", comment="a"
    )
    calls = hook.post_calls(COUNTER, io.BytesIO(CALLS), comment="b")
    metrika.inject_faults({"target": "calls_uploading", "status": 429, "retry_after": "0.1"})

    one = await hook.aget_offline_conversions_uploading(COUNTER, conversions["id"])
    other = await hook.aget_calls_uploading(str(COUNTER), calls["id"])

    assert (one["id"], one["status"], one["comment"]) == (conversions["id"], "MATCHED", "a")
    assert (other["id"], other["static_calls_quantity"]) == (calls["id"], 1)
    assert len(metrika.api_requests(path_contains="calls_uploading/")) == 2
    with pytest.raises(MetrikaNotFoundError):
        await hook.aget_calls_uploading(COUNTER, 999)
