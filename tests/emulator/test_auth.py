"""Token, counter and access checks, in Metrika's order, on every API endpoint."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import (
    COUNTER,
    LIMITED_TOKEN,
    OTHER_COUNTER,
    SAMPLE_CSV,
    TOKEN,
    UNKNOWN_COUNTER,
    MetrikaApi,
    error_of,
)

Call = Callable[..., requests.Response]


def _endpoints(api: MetrikaApi) -> dict[str, Call]:
    return {
        "upload": lambda **kw: api.upload(SAMPLE_CSV, **kw),
        "last_uploadings": api.last_uploadings,
        "counter": api.counter,
    }


ENDPOINTS = ["upload", "last_uploadings", "counter"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("token", "counter", "expected"),
    [
        (None, COUNTER, (401, "unauthorized")),
        ("wrong-token", COUNTER, (401, "unauthorized")),
        ("wrong-token", UNKNOWN_COUNTER, (401, "unauthorized")),
        (TOKEN, UNKNOWN_COUNTER, (404, "not_found")),
        (LIMITED_TOKEN, UNKNOWN_COUNTER, (404, "not_found")),
        (LIMITED_TOKEN, OTHER_COUNTER, (403, "access_denied")),
    ],
)
def test_auth_failures_answer_metrika_errors_in_order(
    api: MetrikaApi,
    emulator: EmulatorClient,
    endpoint: str,
    token: str | None,
    counter: int,
    expected: tuple[int, str],
) -> None:
    response = _endpoints(api)[endpoint](token=token, counter=counter)
    assert error_of(response) == expected
    assert emulator.uploadings(counter) == []


@pytest.mark.parametrize("header", ["Bearer test-token", "OAuth", "test-token", "OAuth "])
def test_malformed_authorization_header_is_401(emulator: EmulatorClient, header: str) -> None:
    response = requests.get(
        f"{emulator.base_url}/management/v1/counter/{COUNTER}", headers={"Authorization": header}, timeout=10
    )
    assert error_of(response) == (401, "unauthorized")


def test_limited_token_may_use_its_own_counter(api: MetrikaApi) -> None:
    assert api.uploading(SAMPLE_CSV, token=LIMITED_TOKEN)["api_validation_status"] == "PASSED"


def test_token_added_through_config_is_accepted(api: MetrikaApi, emulator: EmulatorClient) -> None:
    assert error_of(api.counter(token="new-token")) == (401, "unauthorized")
    emulator.configure(tokens={"new-token": [COUNTER]})
    assert api.counter(token="new-token").status_code == 200
    assert error_of(api.counter(token=TOKEN)) == (401, "unauthorized")


def test_counter_id_that_is_not_an_int32_is_400(emulator: EmulatorClient) -> None:
    response = requests.get(
        f"{emulator.base_url}/management/v1/counter/99999999999",
        headers={"Authorization": f"OAuth {TOKEN}"},
        timeout=10,
    )
    assert error_of(response) == (400, "invalid_parameter")


def test_unknown_api_path_is_a_metrika_404(emulator: EmulatorClient) -> None:
    response = requests.get(f"{emulator.base_url}/cdp/api/v1/counter/{COUNTER}/nothing", timeout=10)
    assert error_of(response) == (404, "not_found")
