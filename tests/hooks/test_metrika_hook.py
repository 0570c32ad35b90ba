"""MetrikaHook over real HTTP against the emulator: wire format, errors, arguments, read-back."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.delivery.journal import SENDING, MemoryUploadJournal, UploadRecord
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaApiError,
    MetrikaAuthenticationError,
    MetrikaBadRequestError,
    MetrikaError,
    MetrikaFileTooLargeError,
    MetrikaInvalidArgumentError,
    MetrikaNotFoundError,
    MetrikaQuotaExceededError,
    MetrikaServerError,
    MetrikaUploadUncertainError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER, OTHER_COUNTER, OTHER_TOKEN, SAMPLE_CSV, TOKEN, connection_json


def test_upload_sends_one_multipart_file_part_with_token_and_params(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, sample_csv, merge_mode="UPDATE")

    assert uploading["api_validation_status"] == "PASSED"
    assert uploading["elements_count"] == 3
    [request] = metrika.api_requests(path_contains="simple_orders")
    assert request["method"] == "POST"
    assert request["path"] == f"/cdp/api/v1/counter/{COUNTER}/data/simple_orders"
    assert request["query"] == {"merge_mode": "UPDATE", "delimiter_type": "COMMA"}
    assert request["headers"]["authorization"] == f"OAuth {TOKEN}"
    assert request["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    [part] = request["multipart"]
    assert part["name"] == "file"
    assert re.fullmatch(r"sample-[0-9a-f]{10}-[0-9a-f]{10}\.csv", part["filename"]), "unique to this POST"
    assert part["content_type"] == "text/csv"
    assert part["size"] == len(SAMPLE_CSV)
    assert part["sha256"] == hashlib.sha256(SAMPLE_CSV).hexdigest()


def test_upload_stores_the_sample_orders(metrika: EmulatorClient, metrika_conn: str, sample_csv: str) -> None:
    upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, sample_csv)

    stored = metrika.orders(COUNTER)
    assert set(stored["orders"]) == {"s_ord1", "s_ord2"}
    assert stored["orders"]["s_ord1"]["emails"] == "mail@example.com,mail2@example.com"
    assert len(stored["orders_without_id"]) == 1


def test_upload_accepts_a_binary_file_object_from_its_current_position(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    stream = io.BytesIO(b"junk-before" + SAMPLE_CSV)
    stream.seek(len(b"junk-before"))

    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, stream, delimiter_type="comma")

    assert uploading["api_validation_status"] == "PASSED"
    [part] = metrika.api_requests(path_contains="simple_orders")[0]["multipart"]
    assert re.fullmatch(r"data-[0-9a-f]{10}-[0-9a-f]{10}\.csv", part["filename"])
    assert part["sha256"] == hashlib.sha256(SAMPLE_CSV).hexdigest()


def test_upload_uses_the_connections_default_counter(metrika: EmulatorClient, metrika_conn: str) -> None:
    upload_simple_orders(MetrikaHook(metrika_conn), None, io.BytesIO(SAMPLE_CSV))

    assert metrika.api_requests()[0]["path"].startswith(f"/cdp/api/v1/counter/{COUNTER}/")


def test_a_file_metrika_rejects_comes_back_failed_with_its_errors(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    bad = b"id,create_date_time,emails\no1,31.02.2024,NOT-AN-EMAIL\n"

    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, io.BytesIO(bad))

    assert uploading["api_validation_status"] == "FAILED"
    assert any("emails" in error for error in uploading["api_validation_errors"])
    assert metrika.orders(COUNTER)["orders"] == {}


def test_file_over_one_gigabyte_is_refused_before_any_request(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(1_000_000_001)  # sparse: no disk used

    with pytest.raises(MetrikaFileTooLargeError, match=r"1,000,000,001 bytes.*at most 1,000,000,000"):
        upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, big)
    assert metrika.api_requests() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"counter_id": 0}, r"counter_id must be a positive integer.*got 0"),
        ({"counter_id": -5}, r"counter_id must be a positive integer"),
        ({"counter_id": "12a"}, r"counter_id must be a positive integer.*'12a'"),
        ({"counter_id": True}, r"counter_id must be a positive integer"),
        ({"counter_id": 2**31}, r"counter_id must be a positive integer"),
        ({"merge_mode": "MERGE"}, r"merge_mode must be one of SAVE, UPDATE, APPEND; got 'MERGE'"),
        ({"delimiter_type": "TAB"}, r"delimiter_type must be one of COMMA, SEMICOLON; got 'TAB'"),
        ({"file": "/no/such/orders.csv"}, r"file '/no/such/orders.csv' does not exist"),
        ({"file": b"id,create_date_time"}, r"file must be a path or a seekable binary file object"),
    ],
)
def test_bad_arguments_raise_before_any_request(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str, kwargs: dict[str, object], message: str
) -> None:
    call: dict[str, object] = {"counter_id": COUNTER, "file": sample_csv, **kwargs}

    with pytest.raises(MetrikaInvalidArgumentError, match=message):
        upload_simple_orders(MetrikaHook(metrika_conn), **call)  # type: ignore[arg-type]
    assert metrika.api_requests() == []


@pytest.mark.parametrize("password", ["", "   "])
def test_connection_without_token_is_refused_before_any_request(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, sample_csv: str, password: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_NOTOKEN", connection_json(metrika.base_url, token=password))

    with pytest.raises(MetrikaInvalidArgumentError, match="'metrika_notoken' has no OAuth token"):
        upload_simple_orders(MetrikaHook("metrika_notoken"), COUNTER, sample_csv)
    assert metrika.api_requests() == []


def test_missing_counter_without_connection_default_is_refused(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_NOCOUNTER", connection_json(metrika.base_url))

    with pytest.raises(MetrikaInvalidArgumentError, match="counter_id is required"):
        MetrikaHook("metrika_nocounter").list_uploadings(None)
    assert metrika.api_requests() == []


@pytest.mark.parametrize(
    ("token", "counter", "error", "status", "error_type"),
    [
        ("wrong-token", COUNTER, MetrikaAuthenticationError, 401, "unauthorized"),
        (OTHER_TOKEN, COUNTER, MetrikaAccessDeniedError, 403, "access_denied"),
        (TOKEN, 99999, MetrikaNotFoundError, 404, "not_found"),
    ],
)
def test_api_errors_map_to_typed_exceptions_with_metrikas_message(
    metrika: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
    sample_csv: str,
    token: str,
    counter: int,
    error: type[MetrikaApiError],
    status: int,
    error_type: str,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_X", connection_json(metrika.base_url, token=token))

    with pytest.raises(error) as caught:
        upload_simple_orders(MetrikaHook("metrika_x"), counter, sample_csv)

    assert caught.value.http_status == status
    assert caught.value.error_type == error_type
    assert caught.value.message
    assert caught.value.message in str(caught.value)
    assert token not in str(caught.value)
    assert len(metrika.api_requests()) == 1, "4xx answers are never retried"


def test_bad_request_answer_is_not_retried_and_keeps_metrikas_message(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading"})

    with pytest.raises(MetrikaBadRequestError) as caught:
        upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, sample_csv)

    assert caught.value.error_type == "invalid_uploading"
    assert len(metrika.api_requests()) == 1


def test_quota_answers_are_retried_honouring_retry_after(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    metrika.inject_faults(
        {"target": "upload", "status": 429, "retry_after": "0.2"},
        {"target": "upload", "status": 420},
    )

    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, sample_csv)

    assert uploading["api_validation_status"] == "PASSED"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 3
    retries = [line for line in capsys.readouterr().out.splitlines() if "; retry " in line]
    assert len(retries) == 2
    assert "HTTP 429" in retries[0]
    assert "in 0.2 s" in retries[0]
    assert len(metrika.orders(COUNTER)["orders"]) == 2


def test_retries_stop_at_the_retry_limit_with_the_last_error(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.inject_faults({"target": "last_uploadings", "status": 503, "times": 5})

    with pytest.raises(MetrikaServerError) as caught:
        MetrikaHook(metrika_conn, retry_limit=2).list_uploadings(COUNTER)

    assert caught.value.http_status == 503
    assert len(metrika.api_requests()) == 3


def test_lost_answer_to_a_stored_upload_is_recovered_from_last_uploadings_not_resent(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.inject_faults({"target": "upload", "status": 504, "after_processing": True})

    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, sample_csv, expected_rows=3)

    assert uploading["uploading_id"] == metrika.uploadings(COUNTER)[0]["uploading_id"]
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1
    assert metrika.orders(COUNTER)["applied_counts"] == {"s_ord1": 1, "s_ord2": 1}


def test_lost_answer_not_yet_listed_is_uncertain_when_rows_lack_ids(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.configure(listing_delay=30.0)
    metrika.inject_faults({"target": "upload", "status": 504, "after_processing": True})

    with pytest.raises(MetrikaUploadUncertainError, match="may or may not have stored it") as caught:
        upload_simple_orders(
            MetrikaHook(metrika_conn, lost_answer_wait=1.0), COUNTER, sample_csv, expected_rows=3
        )

    sent_name = metrika.api_requests(path_contains="simple_orders")[0]["multipart"][0]["filename"]
    message = str(caught.value)
    assert f"sample.csv was sent to counter 12345 as {sent_name!r}" in message
    assert "up to 3 orders may be stored" in message
    assert "force_resend=True" in message
    assert isinstance(caught.value, AirflowFailException), "Airflow must not retry it"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1
    assert len(metrika.api_requests(path_contains="last_uploadings")) >= 2, "looked again while waiting"


def test_a_lost_answer_is_never_matched_to_another_upload_of_the_same_size(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0.5)
    first = b"create_date_time,emails\n2024-01-09,a@example.com\n2024-01-09,b@example.com\n"
    second = b"create_date_time,emails\n2024-01-09,c@example.com\n2024-01-09,d@example.com\n"
    upload_simple_orders(hook, COUNTER, io.BytesIO(first), filename="orders.csv", expected_rows=2)
    metrika.inject_faults({"target": "upload", "status": 504})

    with pytest.raises(MetrikaUploadUncertainError):
        upload_simple_orders(hook, COUNTER, io.BytesIO(second), filename="orders.csv", expected_rows=2)

    assert len(metrika.uploadings(COUNTER)) == 1, "the other upload of 2 rows was not adopted"


def test_without_titles_in_listings_a_lost_answer_is_never_adopted(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.configure(echo_titles=False)
    metrika.inject_faults({"target": "upload", "drop": "after"})

    with pytest.raises(MetrikaUploadUncertainError):
        upload_simple_orders(MetrikaHook(metrika_conn, lost_answer_wait=0.5), COUNTER, sample_csv)

    assert len(metrika.uploadings(COUNTER)) == 1


def test_force_resend_never_resends_a_lost_answer_of_the_same_call(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.configure(listing_delay=30.0)
    metrika.inject_faults({"target": "upload", "status": 504, "after_processing": True})

    with pytest.raises(MetrikaUploadUncertainError):
        upload_simple_orders(
            MetrikaHook(metrika_conn, lost_answer_wait=0.5), COUNTER, sample_csv, force_resend=True
        )

    assert len(metrika.api_requests(path_contains="simple_orders")) == 1
    assert len(metrika.uploadings(COUNTER)) == 1, "stored once, and not sent twice"


def test_force_resend_sends_again_once_an_earlier_calls_unresolved_upload(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    metrika.configure(listing_delay=30.0)
    metrika.inject_faults({"target": "upload", "status": 504})
    journal = MemoryUploadJournal()
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0.5)
    with pytest.raises(MetrikaUploadUncertainError):
        upload_simple_orders(hook, COUNTER, sample_csv, journal=journal)

    uploading = upload_simple_orders(hook, COUNTER, sample_csv, journal=journal, force_resend=True)

    assert uploading["api_validation_status"] == "PASSED"
    names = [r["multipart"][0]["filename"] for r in metrika.api_requests(path_contains="simple_orders")]
    assert len(names) == 2
    assert len(set(names)) == 2, "every POST has its own name"
    again = upload_simple_orders(hook, COUNTER, sample_csv, journal=journal, force_resend=True)
    assert again == uploading, "accepted now: a later force_resend sends nothing"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2


def test_a_journal_carries_the_rule_across_calls(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    journal = MemoryUploadJournal()
    hook = MetrikaHook(metrika_conn)

    first = upload_simple_orders(hook, COUNTER, sample_csv, journal=journal)
    again = upload_simple_orders(hook, COUNTER, sample_csv, journal=journal)
    elsewhere = upload_simple_orders(hook, COUNTER, sample_csv, merge_mode="UPDATE", journal=journal)

    assert again == first, "accepted before: not sent again"
    assert elsewhere["uploading_id"] != first["uploading_id"], "another merge mode is another upload"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2


def test_a_send_left_unanswered_by_a_killed_process_is_adopted_by_its_unique_name(
    metrika: EmulatorClient, metrika_conn: str, sample_csv: str
) -> None:
    journal = MemoryUploadJournal()
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0.5)
    upload_simple_orders(hook, COUNTER, sample_csv, journal=journal)
    [(key, accepted)] = journal.items()
    # As a process killed between the POST and Metrika's answer leaves it: only "sending".
    journal.write(key, UploadRecord(SENDING, accepted.name, accepted.sent_at, accepted.rows, COUNTER))

    uploading = upload_simple_orders(hook, COUNTER, sample_csv, journal=journal)

    assert uploading == accepted.uploading
    assert len(metrika.api_requests(path_contains="simple_orders")) == 1
    adopted = journal.read(key)
    assert adopted is not None
    assert (adopted.state, adopted.name, adopted.uploading) == (
        accepted.state,
        accepted.name,
        accepted.uploading,
    )


def test_run_is_refused_with_the_methods_to_call(metrika_conn: str) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=r"run\(\) is not supported.*upload_simple_orders"):
        MetrikaHook(metrika_conn).run("management/v1/counter/99999")


def test_lost_answer_not_yet_listed_is_resent_when_idempotent(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(listing_delay=30.0)
    metrika.inject_faults({"target": "upload", "drop": "after"})
    with_ids = b"id,create_date_time,emails\na-1,2024-01-09,a@example.com\na-2,2024-01-09,b@example.com\n"

    uploading = upload_simple_orders(
        MetrikaHook(metrika_conn),
        COUNTER,
        io.BytesIO(with_ids),
        merge_mode="UPDATE",
        expected_rows=2,
        all_rows_have_ids=True,
    )

    assert uploading["api_validation_status"] == "PASSED"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert set(metrika.orders(COUNTER)["orders"]) == {"a-1", "a-2"}


def test_append_is_never_resent_after_a_lost_answer(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(listing_delay=30.0)
    metrika.inject_faults({"target": "upload", "drop": "before"})
    with_ids = b"id,create_date_time,emails\na-1,2024-01-09,a@example.com\n"

    with pytest.raises(MetrikaUploadUncertainError):
        upload_simple_orders(
            MetrikaHook(metrika_conn, lost_answer_wait=0.5),
            COUNTER,
            io.BytesIO(with_ids),
            merge_mode="APPEND",
            expected_rows=1,
            all_rows_have_ids=True,
        )

    assert len(metrika.api_requests(path_contains="simple_orders")) == 1


def test_read_calls_retry_a_dropped_connection(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.inject_faults({"target": "counter", "drop": "before"})

    counter = MetrikaHook(metrika_conn).get_counter(COUNTER)

    assert counter["time_zone_name"] == "Europe/Moscow"
    assert len(metrika.api_requests()) == 2


def _upload_n(hook: MetrikaHook, count: int) -> list[str]:
    return [upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV))["uploading_id"] for _ in range(count)]


def test_list_uploadings_is_newest_first_and_pages_back(metrika: EmulatorClient, metrika_conn: str) -> None:
    hook = MetrikaHook(metrika_conn)
    ids = _upload_n(hook, 3)

    listed = hook.list_uploadings(COUNTER, limit=2)

    assert [u["uploading_id"] for u in listed] == ids[::-1][:2]
    request = metrika.api_requests(path_contains="last_uploadings")[-1]
    assert request["query"] == {"limit": "2", "source": "API"}


def test_find_uploadings_walks_pages_until_every_id_is_found(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    hook = MetrikaHook(metrika_conn)
    ids = []
    for count in (2, 2, 1):  # Metrika's datetime has second precision: spread pages over seconds
        ids += _upload_n(hook, count)
        time.sleep(1.05)

    found = hook.find_uploadings(COUNTER, [ids[0], ids[4]], page_size=2)

    assert set(found) == {ids[0], ids[4]}
    assert found[ids[0]]["api_validation_status"] == "PASSED"
    assert hook.get_uploading(COUNTER, ids[2]) is not None
    assert hook.get_uploading(COUNTER, "00000000-0000-4000-8000-000000000000") is None


def test_not_yet_listed_uploading_reads_as_none(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.configure(listing_delay=30.0)
    hook = MetrikaHook(metrika_conn)
    [uploading_id] = _upload_n(hook, 1)

    assert hook.get_uploading(COUNTER, uploading_id) is None


def test_get_counter_returns_the_counters_time_zone(metrika: EmulatorClient, metrika_conn: str) -> None:
    hook = MetrikaHook(metrika_conn)

    assert hook.get_counter(OTHER_COUNTER)["time_zone_name"] == "Asia/Yekaterinburg"
    assert hook.get_counter_timezone(None) == "Europe/Moscow"


def test_test_connection_reports_success_with_counter_and_time_zone(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    ok, message = MetrikaHook(metrika_conn).test_connection()

    assert ok, message
    assert f"counter {COUNTER}" in message
    assert "Europe/Moscow" in message


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"token": "wrong"}, "rejected the OAuth token"),
        ({"token": OTHER_TOKEN}, f"no access to counter {COUNTER}"),
        ({"counter_id": 99999}, "Counter 99999 was not found"),
        ({"base_url": "http://127.0.0.1:9"}, "Could not reach http://127.0.0.1:9"),
        ({"base_url": "ftp://example.com"}, "'API base URL' must look like"),
        ({"token": ""}, "has no OAuth token"),
        ({"counter_id": None, "token": "wrong"}, "rejected the OAuth token"),
        ({"counter_id": None, "token": "tok-UPLOADONLY-0a1b"}, "refused the list of counters (403)"),
        ({"counter_id": None, "base_url": "http://127.0.0.1:9"}, "Could not reach http://127.0.0.1:9"),
        ({"counter_id": None, "path": "/not-metrika"}, "did not answer the list of counters as Metrika does"),
    ],
)
def test_test_connection_tells_a_person_what_to_fix(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, conn: dict[str, object], expected: str
) -> None:
    extra = {"counter_id": conn.get("counter_id", COUNTER)}
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_T",
        connection_json(
            str(conn.get("base_url", metrika.base_url)) + str(conn.get("path", "")),
            token=str(conn.get("token", TOKEN)),
            **extra,
        ),
    )

    ok, message = MetrikaHook("metrika_t").test_connection()

    assert not ok
    assert expected in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("token", "reached"),
    [(TOKEN, f"{COUNTER}, {OTHER_COUNTER}"), (OTHER_TOKEN, f"{OTHER_COUNTER}")],
)
def test_test_connection_without_a_default_counter_checks_the_token_and_leaves_the_counter_to_tasks(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, token: str, reached: str
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_T", connection_json(metrika.base_url, token=token, counter_id=None)
    )

    ok, message = MetrikaHook("metrika_t").test_connection()

    assert ok, message
    assert f"Token accepted; the counters it reaches include {reached}." in message
    assert "each task names its counter (counter_id=)" in message
    assert token not in message
    assert [r["path"] for r in metrika.requests()] == ["/management/v1/counters"]


def test_uri_form_connection_with_schema_reaches_the_emulator(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_port = metrika.base_url.removeprefix("http://")
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_URI", f"metrika://:{TOKEN}@{host_port}/http?counter_id={COUNTER}"
    )

    ok, message = MetrikaHook("metrika_uri").test_connection()

    assert ok, message


def test_empty_host_means_metrikas_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_PUBLIC", connection_json("", token="t"))
    hook = MetrikaHook("metrika_public")

    assert hook.url_from_endpoint("cdp/api/v1/counter/1/last_uploadings") == (
        "https://api-metrika.yandex.net/cdp/api/v1/counter/1/last_uploadings"
    )


def test_connection_extras_are_settings_never_headers(metrika: EmulatorClient, metrika_conn: str) -> None:
    MetrikaHook(metrika_conn).list_uploadings(COUNTER)

    headers = metrika.api_requests()[0]["headers"]
    assert not {"counter_id", "retry_delay", "max_retry_delay"} & set(headers)


def test_token_never_appears_in_repr_logs_or_errors(
    metrika: EmulatorClient,
    metrika_conn: str,
    sample_csv: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = MetrikaHook(metrika_conn, lost_answer_wait=0)
    metrika.inject_faults({"target": "upload", "status": 429}, {"target": "upload", "status": 500})

    with pytest.raises(MetrikaError) as caught:
        upload_simple_orders(hook, COUNTER, sample_csv)

    assert TOKEN not in repr(hook)
    assert TOKEN not in str(caught.value)
    output = capsys.readouterr()
    assert "failed with HTTP 429" in output.out, "the retry was logged"
    assert TOKEN not in output.out + output.err
    assert TOKEN not in caplog.text


async def test_async_twins_read_uploadings_and_counter(metrika: EmulatorClient, metrika_conn: str) -> None:
    hook = MetrikaHook(metrika_conn)
    ids = _upload_n(hook, 3)

    listed = await hook.alist_uploadings(COUNTER, limit=10)
    found = await hook.afind_uploadings(COUNTER, ids, page_size=10)
    one = await hook.aget_uploading(COUNTER, ids[1])
    counter = await hook.aget_counter(OTHER_COUNTER)

    assert [u["uploading_id"] for u in listed] == ids[::-1]
    assert set(found) == set(ids)
    assert one is not None
    assert one["uploading_id"] == ids[1]
    assert counter["time_zone_name"] == "Asia/Yekaterinburg"


async def test_async_reads_back_off_on_quota_answers(metrika: EmulatorClient, metrika_conn: str) -> None:
    metrika.inject_faults({"target": "last_uploadings", "status": 429, "times": 2, "retry_after": "0.1"})

    listed = await MetrikaHook(metrika_conn).alist_uploadings(COUNTER)

    assert listed == []
    assert len(metrika.api_requests()) == 3


async def test_async_errors_are_typed(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_BAD", connection_json(metrika.base_url, token="nope"))

    with pytest.raises(MetrikaAuthenticationError):
        await MetrikaHook("metrika_bad").alist_uploadings(COUNTER)


def test_quota_error_type_is_the_quota_class() -> None:
    from airflow_provider_metrika.exceptions import api_error_from_response

    error = api_error_from_response(
        429, b'{"errors":[{"error_type":"quota_parallel_requests","message":"too many"}],"code":429}'
    )

    assert isinstance(error, MetrikaQuotaExceededError)
    assert error.error_type == "quota_parallel_requests"
    assert error.message == "too many"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": "nan"}, "timeout must be a number of seconds greater than 0"),
        ({"timeout": "inf"}, "timeout must be a number of seconds greater than 0"),
        ({"lost_answer_wait": "nan"}, "lost_answer_wait must be a number of seconds at least 0"),
        ({"retry_delay": "nan"}, "retry_delay must be a number at least 0"),
        ({"max_retry_delay": "inf"}, "max_retry_delay must be a number at least 0"),
        ({"retry_limit": 1000}, "retry_limit must be an integer at least 0 and at most 100"),
    ],
)
def test_connection_extras_that_are_not_finite_seconds_are_refused_before_any_upload(
    metrika: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    extra: dict[str, object],
    message: str,
) -> None:
    extras = {"counter_id": COUNTER, **extra}
    connection = {"conn_type": "metrika", "host": metrika.base_url, "password": TOKEN, "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_T", json.dumps(connection))
    orders = tmp_path / "orders.csv"
    orders.write_bytes(SAMPLE_CSV)

    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        upload_simple_orders(MetrikaHook("metrika_t"), COUNTER, orders)

    assert metrika.requests() == []
