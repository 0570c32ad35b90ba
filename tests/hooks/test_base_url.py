"""
The base-URL reader: every URL a connection can hold is refused, or read exactly as the HTTP clients
(requests / urllib3 and aiohttp / yarl) will read it, and the plain-http guard judges that same host.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import requests
import yarl
from hypothesis import given
from hypothesis import strategies as st
from urllib3.util import parse_url

from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.connection import is_loopback_host, normalise_base_url
from airflow_provider_metrika.hooks.metrika import base_url_from_connection
from airflow_provider_metrika.hooks.metrika import is_loopback_host as reexported_is_loopback_host
from tests.conftest import connection_json

WHO = "Connection 'metrika_url'"


def _requests_view(url: str) -> tuple[str | None, str | None, int | None]:
    """Where requests will connect for ``url`` + an endpoint: its own URL preparation, then urllib3."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(f"{url}/management/v1/counter/1", None)
    parsed = parse_url(prepared.url or "")
    return parsed.scheme, parsed.host, parsed.port


def _aiohttp_view(url: str) -> tuple[str | None, str | None, int | None]:
    parsed = yarl.URL(f"{url}/management/v1/counter/1")
    host = parsed.raw_host
    if host is not None and ":" in host:
        host = f"[{host}]"
    return parsed.scheme, host, parsed.explicit_port


def _connection(monkeypatch: pytest.MonkeyPatch, host: str, **extra: Any) -> Any:
    from airflow.providers.common.compat.sdk import BaseHook

    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_URL", connection_json(host, **extra))
    return BaseHook.get_connection("metrika_url")


# Each of these is read as two different hosts by two parsers, or is not plainly a host at all.
HOSTILE = [
    pytest.param("http://127.0.0.1:80@evil.example", "user name or password", id="port-looking userinfo"),
    pytest.param("http://evil.example\\@127.0.0.1", "user name or password", id="backslash before @"),
    pytest.param("http://evil.example\\.127.0.0.1", "backslash", id="backslash"),
    pytest.param("http://127.0.0.1#@evil.example", "user name or password", id="fragment then @"),
    pytest.param("http://127.0.0.1#.evil.example", "fragment", id="fragment"),
    pytest.param("http://127.0.0.1?.evil.example", "query", id="query"),
    pytest.param("http://localhost\t.evil.example", "control character", id="tab inside the host"),
    pytest.param("http://local host", "space", id="space inside the host"),
    pytest.param("http://[::1%25eth0]:8765", "zone id", id="IPv6 zone id"),
    pytest.param("http://127.1", "IPv4 address in a short", id="short IPv4"),
    pytest.param("http://0x7f.0.0.1", "IPv4 address in a short", id="hex IPv4"),
    pytest.param("http://2130706433", "IPv4 address in a short", id="IPv4 as one number"),
    pytest.param("http://0177.0.0.1", "IPv4 address in a short", id="octal IPv4"),
    pytest.param("http://127.0.0.1:+80", "not an http(s) URL", id="signed port"),
    pytest.param("http://127.0.0.1:080", "port '080'", id="port with a leading zero"),
    pytest.param("http://127.0.0.1:65536", "port '65536'", id="port out of range"),
    pytest.param("http://127.0.0.1:0", "port '0'", id="port zero"),
    pytest.param("http://127.0.0.1:80:81", "not an http(s) URL", id="two ports"),
    pytest.param("http://[::1", "not an http(s) URL", id="open bracket"),
    pytest.param("http://[1::2::3]", "invalid IPv6", id="bad IPv6"),
    pytest.param("http://localhost./", "valid host name", id="trailing dot"),
    pytest.param("http://-evil.example", "valid host name", id="label starting with a dash"),
    pytest.param("http://xn--e1afmkfd.xn--p1ai\u200b", "non-ASCII", id="zero-width space"),
    pytest.param("http://пример.рф", "non-ASCII", id="IDN"),
    pytest.param("http://ａｐｉ.example", "non-ASCII", id="full-width letters"),
    pytest.param("ftp://127.0.0.1", "not an http(s) URL", id="ftp"),
    pytest.param("http:///127.0.0.1", "not an http(s) URL", id="empty authority"),
    pytest.param("http://127.0.0.1/%2e%2e/", "percent escape", id="percent in the path"),
    pytest.param("http://127.0.0.1/a b", "space", id="space in the path"),
    pytest.param("http://127.0.0.1/;x", "not an http(s) URL", id="semicolon in the path"),
]


@pytest.mark.parametrize(("host", "message"), HOSTILE)
def test_a_url_parsers_read_differently_is_refused_before_any_request(host: str, message: str) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="'API base URL'") as refused:
        normalise_base_url(host, "https", None, WHO)

    assert message in str(refused.value)


def test_the_backslash_trick_is_the_one_the_old_guard_fell_for() -> None:
    # urllib.parse saw a loopback host, requests connects to the other one.
    hostile = "http://evil.example\\@127.0.0.1"
    assert urllib.parse.urlparse(hostile).hostname == "127.0.0.1"
    assert _requests_view(hostile)[1] == "evil.example"
    with pytest.raises(MetrikaInvalidArgumentError):
        normalise_base_url(hostile, "https", None, WHO)


@pytest.mark.parametrize(
    "host",
    [
        "http://user:s3cr3t-pass@api-metrika.yandex.net",
        "https://user:s3cr3t-pass@api-metrika.yandex.net",
        "user:s3cr3t-pass@api-metrika.yandex.net",
        "http://:s3cr3t-pass@127.0.0.1:8765",
        "http://s3cr3t-pass@127.0.0.1:8765",
        "http://user:s3cr3t-pass@[::1]:8765/path",
    ],
)
def test_credentials_in_the_host_are_refused_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="user name or password") as refused:
        base_url_from_connection(_connection(monkeypatch, host))

    assert "s3cr3t-pass" not in str(refused.value)
    assert "OAuth token" in str(refused.value)


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("api-metrika.yandex.net", None, None, "https://api-metrika.yandex.net"),
        ("HTTPS://API-Metrika.Yandex.NET/", None, None, "https://api-metrika.yandex.net"),
        ("127.0.0.1", "http", 8765, "http://127.0.0.1:8765"),
        ("http://127.0.0.1/metrika/", None, 8765, "http://127.0.0.1:8765/metrika"),
        ("http://[::1]:8765", None, None, "http://[::1]:8765"),
        ("https://proxy.internal:3128/Base_Path-1", None, None, "https://proxy.internal:3128/Base_Path-1"),
    ],
)
def test_a_plain_url_is_normalised_once_and_read_alike_by_every_client(
    host: str, schema: str | None, port: int | None, expected: str
) -> None:
    url = normalise_base_url(host, schema or "https", port, WHO)

    assert url == expected
    scheme, name, number = parse_url(url).scheme, parse_url(url).host, parse_url(url).port
    assert _requests_view(url) == (scheme, name, number)
    assert _aiohttp_view(url) == (scheme, name, number)


def test_subdomains_of_localhost_are_not_this_machine() -> None:
    assert is_loopback_host("localhost")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("evil.localhost")
    assert reexported_is_loopback_host is is_loopback_host


_URL_PIECES = st.sampled_from(
    [
        "127.0.0.1",
        "localhost",
        "evil.example",
        "[::1]",
        "::1",
        "@",
        ":",
        "80",
        ":8765",
        "/",
        "\\",
        "#",
        "?",
        "%25",
        "%2e",
        " ",
        "\t",
        ".",
        "0x7f",
        "1",
        "user:pw",
        "a",
        "[",
        "]",
        "\u00a0",
        "ｌ",
    ]
)


@given(
    st.sampled_from(["http://", "https://", "HTTP://", ""]),
    st.lists(_URL_PIECES, min_size=1, max_size=8).map("".join),
)
def test_any_url_is_refused_or_read_alike_by_the_guard_requests_and_aiohttp(scheme: str, rest: str) -> None:
    try:
        url = normalise_base_url(scheme + rest, "http", None, WHO)
    except MetrikaInvalidArgumentError as refused:
        message: str | None = str(refused)
    else:
        message = None
    if message is not None:
        if "@" in rest:
            assert "user:pw" not in message, "what stands before an @ is never shown"
        return
    judged = parse_url(url)
    assert "@" not in url
    assert "\\" not in url
    assert _requests_view(url) == (judged.scheme, judged.host, judged.port)
    assert _aiohttp_view(url) == (judged.scheme, judged.host, judged.port)
    # The guard's verdict is about the host both clients connect to.
    if is_loopback_host(judged.host or ""):
        assert judged.host in ("localhost", "[::1]") or (judged.host or "").startswith("127.")


@pytest.mark.parametrize("host", ["http://user:pw", "http://\\user:pw", "http://user:pw]"])
def test_what_follows_a_colon_in_the_host_is_masked_in_the_refusal(host: str) -> None:
    # Failing examples the property test found: a password typed without the @ was shown back.
    with pytest.raises(MetrikaInvalidArgumentError) as refused:
        normalise_base_url(host, "https", None, WHO)

    assert "pw" not in str(refused.value)
    assert "user:***" in str(refused.value)
