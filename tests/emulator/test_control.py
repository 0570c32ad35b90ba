"""The /_emulator control API: request log, reset and settings."""

from __future__ import annotations

import hashlib

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, SAMPLE_CSV, TOKEN, MetrikaApi


def test_request_log_records_the_multipart_file_exactly(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(SAMPLE_CSV, filename="orders-2024.csv", merge_mode="UPDATE", delimiter_type="COMMA")
    (logged,) = emulator.requests()
    assert logged["method"] == "POST"
    assert logged["path"] == f"/cdp/api/v1/counter/{COUNTER}/data/simple_orders"
    assert logged["query"] == {"merge_mode": "UPDATE", "delimiter_type": "COMMA"}
    assert logged["headers"]["authorization"] == f"OAuth {TOKEN}"
    assert logged["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert logged["multipart"] == [
        {
            "name": "file",
            "filename": "orders-2024.csv",
            "content_type": "text/csv",
            "size": len(SAMPLE_CSV),
            "sha256": hashlib.sha256(SAMPLE_CSV).hexdigest(),
        }
    ]
    assert logged["status"] == 200
    assert logged["received_at"]


def test_request_log_is_oldest_first_and_skips_control_calls(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    api.counter()
    emulator.orders(COUNTER)
    api.last_uploadings(limit=5)
    logged = emulator.requests()
    assert [(e["method"], e["path"].rsplit("/", 1)[-1], e["status"]) for e in logged] == [
        ("GET", str(COUNTER), 200),
        ("GET", "last_uploadings", 200),
    ]
    assert emulator.api_requests(path_contains="last_uploadings")[0]["query"] == {"limit": "5"}
    assert emulator.api_requests(method="post") == []


def test_reset_forgets_data_and_faults_but_keeps_tokens_and_counters(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(tokens={"kept-token": None}, counters={"777": "UTC"}, listing_delay=5)
    api.uploading(SAMPLE_CSV, token="kept-token", counter=777)
    emulator.inject_faults({"status": 503, "times": 5})
    emulator.reset()
    assert emulator.requests() == []
    assert emulator.faults() == []
    assert emulator.uploadings(777) == []
    assert emulator.orders(777) == {"orders": {}, "orders_without_id": [], "applied_counts": {}}
    config = emulator.config()
    assert config["tokens"] == {"kept-token": None}
    assert config["counters"] == {"777": "UTC"}
    assert config["listing_delay"] == 0.0
    assert api.counter(token="kept-token", counter=777).json()["counter"]["time_zone_name"] == "UTC"


def test_uploadings_endpoint_shows_emulator_details(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(SAMPLE_CSV, merge_mode="APPEND")
    (uploading,) = emulator.uploadings(COUNTER)
    assert uploading["details"]["merge_mode"] == "APPEND"
    assert uploading["details"]["file_sha256"] == hashlib.sha256(SAMPLE_CSV).hexdigest()
    assert uploading["api_validation_status"] == "PASSED"


def test_store_orders_off_records_the_uploading_but_keeps_no_orders(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(store_orders=False)
    assert api.uploading(SAMPLE_CSV)["api_validation_status"] == "PASSED"
    assert emulator.orders(COUNTER)["orders"] == {}
    assert len(emulator.uploadings(COUNTER)) == 1


@pytest.mark.parametrize(
    "settings",
    [
        {"listing_delay": -1},
        {"parallel_limit": 0},
        {"tokens": ["a"]},
        {"counters": {"abc": "UTC"}},
        {"max_file_bytes": "big"},
        {"unknown": 1},
    ],
)
def test_bad_settings_are_refused_unchanged(emulator: EmulatorClient, settings: dict[str, object]) -> None:
    before = emulator.config()
    with pytest.raises(requests.HTTPError) as raised:
        emulator.configure(**settings)
    assert raised.value.response.status_code == 400
    assert emulator.config() == before
