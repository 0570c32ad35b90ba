"""Injected faults: error statuses, ambiguous answers after processing, dropped connections, slow answers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, SAMPLE_CSV, MetrikaApi, error_of


def test_status_fault_answers_the_error_and_stores_nothing(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "upload", "status": 503})
    response = api.upload(SAMPLE_CSV)
    assert error_of(response) == (503, "backend_error")
    assert "Retry-After" not in response.headers
    assert emulator.orders(COUNTER)["orders"] == {}
    assert emulator.uploadings(COUNTER) == []
    (logged,) = emulator.api_requests(path_contains="simple_orders")
    assert logged["status"] == 503
    assert logged["multipart"][0]["size"] == len(SAMPLE_CSV)


def test_fault_is_used_up_after_its_times(api: MetrikaApi, emulator: EmulatorClient) -> None:
    remaining = emulator.inject_faults({"target": "upload", "status": 429, "times": 2})
    assert remaining[0]["times"] == 2
    assert api.upload(SAMPLE_CSV).status_code == 429
    assert emulator.faults()[0]["times"] == 1
    assert api.upload(SAMPLE_CSV).status_code == 429
    assert emulator.faults() == []
    assert api.upload(SAMPLE_CSV).status_code == 200


def test_retry_after_is_sent_as_a_header(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "upload", "status": 429, "retry_after": "2"})
    response = api.upload(SAMPLE_CSV)
    assert error_of(response) == (429, "quota_requests_by_uid")
    assert response.headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 420}, (420, "quota_requests_by_uid")),
        ({"status": 504}, (504, "timeout")),
        ({"status": 502}, (502, "backend_error")),
        ({"status": 500}, (500, "backend_error")),
        (
            {"status": 429, "error_type": "quota_requests_by_counter_id"},
            (429, "quota_requests_by_counter_id"),
        ),
    ],
)
def test_status_fault_error_type_follows_the_status_unless_named(
    api: MetrikaApi, emulator: EmulatorClient, fault: dict[str, object], expected: tuple[int, str]
) -> None:
    emulator.inject_faults({"target": "counter", **fault})
    assert error_of(api.counter()) == expected


def test_faults_hit_only_their_target_in_fifo_order(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults(
        {"target": "upload", "status": 503},
        {"target": "last_uploadings", "status": 502},
        {"target": "any", "status": 500},
    )
    assert api.counter().status_code == 500
    assert api.last_uploadings().status_code == 502
    assert api.upload(SAMPLE_CSV).status_code == 503
    assert emulator.faults() == []
    assert api.counter().status_code == 200


def test_after_processing_fault_stores_the_upload_but_answers_the_error(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "upload", "status": 500, "after_processing": True})
    assert error_of(api.upload(SAMPLE_CSV)) == (500, "backend_error")
    assert emulator.orders(COUNTER)["applied_counts"] == {"s_ord1": 1, "s_ord2": 1}
    (uploading,) = emulator.uploadings(COUNTER)
    assert [u["uploading_id"] for u in api.listed()] == [uploading["uploading_id"]]


def test_drop_before_gives_a_connection_error_and_stores_nothing(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "upload", "drop": "before"})
    with pytest.raises(requests.ConnectionError):
        api.upload(SAMPLE_CSV)
    assert emulator.orders(COUNTER)["orders"] == {}
    assert emulator.uploadings(COUNTER) == []
    (logged,) = emulator.api_requests(path_contains="simple_orders")
    assert logged["status"] == "dropped"
    assert logged["multipart"][0]["size"] == len(SAMPLE_CSV)


def test_drop_after_gives_a_connection_error_but_stores_the_upload(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "upload", "drop": "after"})
    with pytest.raises(requests.ConnectionError):
        api.upload(SAMPLE_CSV)
    assert emulator.orders(COUNTER)["applied_counts"] == {"s_ord1": 1, "s_ord2": 1}
    assert len(emulator.uploadings(COUNTER)) == 1
    assert emulator.api_requests()[0]["status"] == "dropped"


def test_delay_slows_the_answer(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "counter", "delay": 0.4})
    started = time.monotonic()
    assert api.counter().status_code == 200
    assert time.monotonic() - started >= 0.4


def test_a_held_request_is_answered_once_released_and_a_reset_releases_too(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "counter", "hold": True, "delay": 60, "times": 2})
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(api.counter)
        emulator.wait_until_held(1)
        assert not first.done()
        assert emulator.release() == 1
        assert first.result(timeout=30).status_code == 200
        second = pool.submit(api.counter)
        emulator.wait_until_held(1)
        emulator.reset()
        assert second.result(timeout=30).status_code == 200
    assert emulator.held() == 0


def test_a_hold_nobody_releases_ends_after_its_delay(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "counter", "hold": True, "delay": 0.2})
    started = time.monotonic()
    assert api.counter().status_code == 200
    assert time.monotonic() - started >= 0.2
    assert emulator.held() == 0


def test_delayed_upload_times_out_on_the_client_yet_is_stored(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "upload", "delay": 0.5})
    with pytest.raises(requests.ReadTimeout):
        api.upload(SAMPLE_CSV, timeout=0.2)
    assert emulator.orders(COUNTER)["applied_counts"] == {"s_ord1": 1, "s_ord2": 1}


def test_delay_with_status_waits_then_answers_the_error(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "counter", "delay": 0.3, "status": 503, "retry_after": "1"})
    started = time.monotonic()
    response = api.counter()
    assert time.monotonic() - started >= 0.3
    assert error_of(response) == (503, "backend_error")
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "fault",
    [
        {"target": "everything"},
        {"times": 0},
        {"status": 200},
        {"drop": "sometimes"},
        {"drop": "before", "status": 503},
        {"delay": -1},
        {"hold": True},
        {"hold": "yes", "delay": 5},
        {"retry_after": 2},
        {"colour": "red"},
    ],
)
def test_invalid_fault_is_refused_and_nothing_is_queued(
    emulator: EmulatorClient, fault: dict[str, object]
) -> None:
    with pytest.raises(requests.HTTPError) as raised:
        emulator.inject_faults({"status": 503}, fault)
    assert raised.value.response.status_code == 400
    assert emulator.faults() == []


def test_skip_lets_the_first_matching_requests_pass_before_the_fault_strikes(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.inject_faults({"target": "upload", "status": 400, "skip": 1})

    assert api.upload(SAMPLE_CSV).status_code == 200
    assert error_of(api.upload(SAMPLE_CSV))[0] == 400
    assert api.upload(SAMPLE_CSV).status_code == 200
    assert emulator.faults() == []


def test_status_fault_answers_the_message_it_is_given(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.inject_faults({"target": "upload", "status": 400, "message": "Refused on purpose"})
    response = api.upload(SAMPLE_CSV)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Refused on purpose"
    with pytest.raises(requests.HTTPError):
        emulator.inject_faults({"target": "upload", "status": 400, "message": 5})
