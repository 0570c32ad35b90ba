"""Scopes and access: every 401 / 403 names the connection, each cause that fits, and the fix."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaAuthenticationError,
    MetrikaInvalidArgumentError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook, base_url_from_connection
from tests.conftest import (
    COUNTER,
    OFFLINE,
    OTHER_TOKEN,
    READ,
    SAMPLE_CSV,
    SCOPED_TOKENS,
    WRITE,
    connection_json,
)

CONN_ID = "metrika_scoped"


def _use_token(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, token: str, **extra: Any) -> str:
    extra = {"counter_id": COUNTER, "retry_delay": 0.01, "max_retry_delay": 0.05, **extra}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(metrika.base_url, token=token, **extra)
    )
    return CONN_ID


def _token_with(scopes: list[str]) -> str:
    [token] = [t for t, granted in SCOPED_TOKENS.items() if sorted(granted) == sorted(scopes)]
    return token


CALLS: dict[str, Callable[[MetrikaHook], Any]] = {
    "upload": lambda hook: upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV)),
    "counter": lambda hook: hook.get_counter(COUNTER),
    "uploadings": lambda hook: hook.list_uploadings(COUNTER),
}
#: The scope words a 403 on each call must name.
SCOPE_WORDS = {
    "upload": ["metrika:offline_data or metrika:write", "upload orders"],
    "counter": ["metrika:read", "timezone="],
    "uploadings": ["may lack metrika:read", "does not document"],
}
#: scopes -> calls allowed (last_uploadings by default, then when it needs metrika:read).
ALLOWED = [
    ([OFFLINE], {"upload", "uploadings"}, {"upload"}),
    ([WRITE], {"upload", "uploadings"}, {"upload"}),
    ([READ], {"counter", "uploadings"}, {"counter", "uploadings"}),
    ([OFFLINE, READ], {"upload", "counter", "uploadings"}, {"upload", "counter", "uploadings"}),
    ([WRITE, READ], {"upload", "counter", "uploadings"}, {"upload", "counter", "uploadings"}),
    ([], set(), set()),
]


@pytest.mark.parametrize("needs_read", [False, True], ids=["list-any-scope", "list-needs-read"])
@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("scopes", "allowed", "allowed_when_list_needs_read"),
    ALLOWED,
    ids=["+".join(case[0]) or "no-scope" for case in ALLOWED],
)
def test_every_scope_combination_gets_the_call_or_a_403_naming_scope_counter_and_token(
    metrika: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
    scopes: list[str],
    allowed: set[str],
    allowed_when_list_needs_read: set[str],
    call: str,
    needs_read: bool,
) -> None:
    metrika.configure(last_uploadings_needs_read=needs_read)
    hook = MetrikaHook(_use_token(metrika, monkeypatch, _token_with(scopes)))

    if call in (allowed_when_list_needs_read if needs_read else allowed):
        CALLS[call](hook)
        return
    with pytest.raises(MetrikaAccessDeniedError) as caught:
        CALLS[call](hook)

    message = str(caught.value)
    assert message.startswith("Metrika API error 403 access_denied: Access is denied")
    assert f"connection {CONN_ID!r}" in message.lower()
    for words in SCOPE_WORDS[call]:
        assert words in message
    assert f"no access to counter {COUNTER}" in message
    assert "expired or revoked" in message
    assert "metrika:offline_data and metrika:read" in message, "the fix names the recommended token"
    assert len(metrika.api_requests()) == 1, "a 403 is never retried"
    assert metrika.orders(COUNTER)["orders"] == {}


def test_a_401_at_run_time_names_the_connection_and_how_to_replace_the_token(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = MetrikaHook(_use_token(metrika, monkeypatch, "tok-REVOKED-1234"))

    with pytest.raises(MetrikaAuthenticationError) as caught:
        upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV))

    message = str(caught.value)
    assert f"Connection {CONN_ID!r}: Metrika rejected the OAuth token (401)" in message
    assert "expired or revoked" in message
    assert "metrika:offline_data and metrika:read" in message
    assert f"put it in the 'OAuth token' of connection {CONN_ID!r}" in message
    assert "tok-REVOKED-1234" not in message
    assert len(metrika.api_requests()) == 1


def test_a_403_for_a_counter_the_owner_cannot_use_names_every_cause(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = MetrikaHook(_use_token(metrika, monkeypatch, OTHER_TOKEN))

    with pytest.raises(MetrikaAccessDeniedError) as caught:
        upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV))

    message = str(caught.value)
    assert caught.value.advice is not None
    assert caught.value.message in message, "Metrika's own message is kept"
    assert "metrika:offline_data or metrika:write" in message
    assert f"no access to counter {COUNTER}" in message
    assert "expired or revoked" in message


async def test_async_reads_name_the_scope_and_the_connection_too(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrika.configure(last_uploadings_needs_read=True)
    hook = MetrikaHook(_use_token(metrika, monkeypatch, _token_with([OFFLINE])))

    with pytest.raises(MetrikaAccessDeniedError) as listed:
        await hook.alist_uploadings(COUNTER)
    with pytest.raises(MetrikaAccessDeniedError) as counter:
        await hook.aget_counter(COUNTER)

    assert "may lack metrika:read" in str(listed.value)
    assert f"connection {CONN_ID!r}" in str(listed.value).lower()
    assert "metrika:read" in str(counter.value)
    assert "timezone=" in str(counter.value)
    assert len(metrika.api_requests()) == 2, "403 is not retried by the async twins either"


async def test_async_401_names_the_connection(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = MetrikaHook(_use_token(metrika, monkeypatch, "tok-WRONG-5678"))

    with pytest.raises(MetrikaAuthenticationError, match=rf"Connection '{CONN_ID}': Metrika rejected"):
        await hook.alist_uploadings(COUNTER)


# -- Test connection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "needs_read", "ok", "expected"),
    [
        ([OFFLINE, READ], False, True, ["Connected: counter 12345", "time zone Europe/Moscow"]),
        ([WRITE, READ], True, True, ["Connected: counter 12345", "uploadings list readable"]),
        ([READ], False, True, ["Connected", "Uploads need metrika:offline_data or metrika:write"]),
        ([OFFLINE], False, True, ["Usable for uploads to counter 12345", "lacks metrika:read", "timezone="]),
        ([WRITE], False, True, ["Usable for uploads", "timezone="]),
        ([OFFLINE], True, False, ["refused both", "no access to counter 12345", "expired or revoked"]),
        ([], False, False, ["refused both", "metrika:read", "metrika:offline_data or metrika:write"]),
    ],
    ids=[
        "upload+read",
        "write+read",
        "read-only",
        "upload-only",
        "write-only",
        "upload-only-list-needs-read",
        "none",
    ],
)
def test_test_connection_tells_what_the_token_can_do_and_uploads_nothing(
    metrika: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
    scopes: list[str],
    needs_read: bool,
    ok: bool,
    expected: list[str],
) -> None:
    metrika.configure(last_uploadings_needs_read=needs_read)

    status, message = MetrikaHook(_use_token(metrika, monkeypatch, _token_with(scopes))).test_connection()

    assert (status, [e for e in expected if e not in message]) == (ok, []), message
    assert not metrika.api_requests(method="POST"), "the test uploads nothing"
    assert CONN_ID not in message, "Airflow tests a form under a random id: the message names none"
    assert _token_with(scopes) not in message


def test_test_connection_on_a_401_says_how_to_replace_the_token_without_an_id(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, message = MetrikaHook(_use_token(metrika, monkeypatch, "tok-OLD-9999")).test_connection()

    assert not status
    assert message.startswith("This connection: Metrika rejected the OAuth token (401)")
    assert "metrika:offline_data and metrika:read" in message
    assert CONN_ID not in message


# -- No token in clear text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["http://api-metrika.yandex.net", "http://10.0.0.5:8765", "http://metrika.example.com/"]
)
def test_plain_http_to_another_machine_is_refused_before_any_request(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_PLAIN", connection_json(host, counter_id=COUNTER))
    hook = MetrikaHook("metrika_plain")

    with pytest.raises(MetrikaInvalidArgumentError) as caught:
        upload_simple_orders(hook, COUNTER, io.BytesIO(SAMPLE_CSV))

    message = str(caught.value)
    assert "Connection 'metrika_plain'" in message
    assert "unencrypted" in message
    assert "allow_insecure_http" in message
    assert "https://" in message


async def test_plain_http_is_refused_by_the_async_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_PLAIN", connection_json("http://api-metrika.yandex.net"))

    with pytest.raises(MetrikaInvalidArgumentError, match="unencrypted"):
        await MetrikaHook("metrika_plain").alist_uploadings(COUNTER)


def test_test_connection_refuses_plain_http_without_a_misleading_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_PLAIN", connection_json("http://api-metrika.yandex.net", counter_id=COUNTER)
    )

    status, message = MetrikaHook("metrika_plain").test_connection()

    assert not status
    assert message.startswith(
        "This connection: 'API base URL' http://api-metrika.yandex.net is plain http://"
    )
    assert "metrika_plain" not in message


@pytest.mark.parametrize(
    ("host", "extra", "expected"),
    [
        ("http://127.0.0.1:8765", {}, "http://127.0.0.1:8765"),
        ("http://127.10.0.2:8765", {}, "http://127.10.0.2:8765"),
        ("http://localhost:8765/", {}, "http://localhost:8765"),
        ("http://[::1]:8765", {}, "http://[::1]:8765"),
        ("http://proxy.internal:3128", {"allow_insecure_http": True}, "http://proxy.internal:3128"),
        ("http://proxy.internal:3128", {"allow_insecure_http": "true"}, "http://proxy.internal:3128"),
        ("https://api-metrika.yandex.net", {}, "https://api-metrika.yandex.net"),
    ],
)
def test_loopback_http_and_explicitly_allowed_http_are_accepted(
    monkeypatch: pytest.MonkeyPatch, host: str, extra: dict[str, Any], expected: str
) -> None:
    from airflow.providers.common.compat.sdk import BaseHook

    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_URL", connection_json(host, **extra))

    assert base_url_from_connection(BaseHook.get_connection("metrika_url")) == expected


def test_allow_insecure_http_false_still_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import BaseHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_URL", connection_json("http://proxy.internal", allow_insecure_http="false")
    )

    with pytest.raises(MetrikaInvalidArgumentError, match="unencrypted"):
        base_url_from_connection(BaseHook.get_connection("metrika_url"))


def test_a_403_invalid_token_names_only_the_token_as_cause(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrika.inject_faults({"target": "counter", "status": 403, "error_type": "invalid_token"})
    hook = MetrikaHook(_use_token(metrika, monkeypatch, _token_with([OFFLINE, READ])))

    with pytest.raises(MetrikaAccessDeniedError) as caught:
        hook.get_counter(COUNTER)

    message = str(caught.value)
    assert "1. the token is expired or revoked" in message
    assert "metrika:offline_data and metrika:read" in message
    assert "2." not in message, "Metrika said it is the token: no other cause is listed"
