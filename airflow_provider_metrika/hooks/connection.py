"""Reading a Metrika connection, in one place: the token, the API base URL, the extras, the retries.

Whoever reads a connection (the hook, the trigger, the form's test, the lineage) reads it here, so a
token goes only where the one base-URL parser allows (HTTPS, or plain HTTP to a loopback host).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from urllib3.util import parse_url

from airflow_provider_metrika._compat import mask_secret
from airflow_provider_metrika.arguments import read_number
from airflow_provider_metrika.constants import CONN_TYPE, DEFAULT_API_URL, MAX_HTTP_SECONDS, MAX_RETRY_LIMIT
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.access import RECOMMENDED_SCOPES
from airflow_provider_metrika.hooks.retries import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import Connection

__all__ = [
    "atoken_from_connection",
    "base_url_from_connection",
    "is_loopback_host",
    "named",
    "normalise_extras",
    "retry_policy",
    "token_from_connection",
]


def token_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the OAuth token kept in the connection's password field, registered for log masking.

    :param connection: the Airflow connection.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    token = (connection.password or "").strip()
    if not token:
        raise MetrikaInvalidArgumentError(
            f"{who or named(connection)} has no OAuth token: put a token with scopes "
            f"{RECOMMENDED_SCOPES} in its 'OAuth token' (password) field"
        )
    mask_secret(token)
    return token


async def atoken_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the token as :func:`token_from_connection` does, from a trigger's event loop.

    Registering the token with the secrets masker also tells the triggerer's supervisor through
    the trigger comms, which send synchronously on Airflow 3.0 and 3.1: on the event loop thread
    that raises (3.0, before the token is even registered) or is silently skipped (3.1). The
    registration runs in a worker thread instead (``sync_to_async``), from where every line's
    comms hand the message to the event loop.

    :param connection: the Airflow connection.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    from asgiref.sync import sync_to_async

    token: str = await sync_to_async(token_from_connection)(connection, who)
    return token


def retry_policy(arguments: dict[str, Any], extras: dict[str, Any]) -> RetryPolicy:
    settings: dict[str, Any] = {}
    for name, integer in (("retry_limit", True), ("retry_delay", False), ("max_retry_delay", False)):
        value = arguments.get(name)
        if value is None:
            value = extras.get(name)
        if value in (None, ""):
            continue
        high = MAX_RETRY_LIMIT if integer else MAX_HTTP_SECONDS
        settings[name] = read_number(name, value, low=0, high=high, integer=integer, text=True)
    try:
        return RetryPolicy(**settings)
    except ValueError as exc:
        raise MetrikaInvalidArgumentError(str(exc)) from None


# -- how messages name a connection, and its extras ---------------------------------------------


def named(connection: Connection) -> str:
    """Return ``Connection '<conn_id>'``, how messages name a connection.

    :param connection: the Airflow connection.
    """
    return f"Connection {connection.conn_id!r}"


def normalise_extras(extras: dict[str, Any]) -> dict[str, Any]:
    """Return the extras with the form's ``extra__metrika__<name>`` keys read as ``<name>``.

    A plain ``<name>`` wins over the prefixed one when both are set.

    :param extras: the connection's extras (``extra_dejson``).
    """
    prefix = f"extra__{CONN_TYPE}__"
    folded = {key.removeprefix(prefix): value for key, value in extras.items() if key.startswith(prefix)}
    return {**folded, **{k: v for k, v in extras.items() if not k.startswith(prefix)}}


# -- the API base URL ---------------------------------------------------------------------------------

_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[0-9a-f:.]+\]|[a-z0-9.-]+)"
    r"(?::(?P<port>[0-9]+))?(?P<path>/[A-Za-z0-9._~/-]*)?"
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# What inet_aton (and so getaddrinfo) reads as an IPv4 address: 127.1, 0x7f.1, 2130706433, 0177.0.0.1.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_EXAMPLE = f"{DEFAULT_API_URL} (or http://127.0.0.1:8765 for the emulator)"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return value is True or value == 1


def _insecure_allowed(connection: Connection) -> bool:
    return _truthy(normalise_extras(connection.extra_dejson).get("allow_insecure_http"))


def _shown(text: str) -> str:
    """Return the URL for a message, a non-numeric part after a colon (a password?) masked."""
    scheme, separator, rest = text.rpartition("://")
    authority, slash, path = rest.partition("/")
    bracket = authority.find("]") + 1 if authority.startswith("[") else 0
    head, tail = authority[:bracket], authority[bracket:]
    host, colon, port = tail.partition(":")
    if colon and not port.isdigit():
        port = "***"
    shown = f"{scheme}{separator}{head}{host}{colon}{port}{slash}{path}"
    return repr(shown if len(shown) <= 120 else shown[:117] + "...")


def _refusal(who: str, problem: str) -> MetrikaInvalidArgumentError:
    return MetrikaInvalidArgumentError(f"{who}: 'API base URL' must look like {_EXAMPLE}; {problem}")


def _check_characters(host: str, who: str) -> None:
    """Refuse what parsers read differently, before any parsing; userinfo is never printed back."""
    if "@" in host:
        raise MetrikaInvalidArgumentError(
            f"{who}: 'API base URL' holds a user name or password before the host (user:password@host). "
            "It is not shown here and nothing was sent: Metrika is reached with the OAuth token alone "
            "(the connection's password field), and a password in the URL would replace it with Basic "
            "auth. Remove it, leaving e.g. " + DEFAULT_API_URL
        )
    if not host.isascii():
        raise _refusal(
            who, f"{_shown(host)} has non-ASCII characters (write an international domain in its xn-- form)"
        )
    if any(char.isspace() or not char.isprintable() for char in host):
        raise _refusal(who, f"{_shown(host)} has a space or a control character inside")
    for char, name in (
        ("\\", "a backslash"),
        ("%", "a percent escape or an IPv6 zone id"),
        ("?", "a query"),
        ("#", "a fragment"),
    ):
        if char in host:
            raise _refusal(who, f"{_shown(host)} has {name}")


def _check_host(host: str, shown: str, who: str) -> None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _refusal(who, f"{shown} has an invalid IPv6 address") from None
        return
    labels = host.split(".")
    if all(_NUMERIC_LABEL.fullmatch(label) for label in labels) and len(labels) <= 4:
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            raise _refusal(
                who,
                f"{shown} has an IPv4 address in a short, octal or hex form: write it as "
                "four decimal numbers, e.g. 127.0.0.1",
            )
        return
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refusal(who, f"{shown} does not have a valid host name")


def normalise_base_url(text: str, default_scheme: str, port: Any, who: str) -> str:
    """
    Return ``text`` as ``scheme://host[:port][/path]``, or raise when it is not plainly that.

    :param text: the host as entered: a URL, or a host name (then ``default_scheme`` is used).
    :param default_scheme: the scheme for a host without one.
    :param port: a port given apart from the host (the connection's Port field), or None.
    :param who: how messages name the connection.
    """
    _check_characters(text, who)
    url = text if "://" in text else f"{default_scheme or 'https'}://{text}"
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    matched = _URL.fullmatch(f"{scheme.lower()}://{authority.lower()}{slash}{path}")
    shown = _shown(text)
    if matched is None or matched["scheme"] not in ("http", "https"):
        raise _refusal(who, f"{shown} is not an http(s) URL of a host")
    host = matched["host"]
    _check_host(host, shown, who)
    written_port = matched["port"]
    if written_port is None and port not in (None, "", 0):
        written_port = str(port)
    if written_port is not None and not (
        written_port.isdigit() and not written_port.startswith("0") and int(written_port) <= 65535
    ):
        raise _refusal(who, f"{shown} has port {written_port!r}, not a number from 1 to 65535")
    normalised = f"{matched['scheme']}://{host}" + (f":{written_port}" if written_port else "")
    normalised += (matched["path"] or "").rstrip("/")
    # The client's own parser must read the very host and port judged here.
    parsed = parse_url(normalised)
    if (parsed.scheme, parsed.host, parsed.port, parsed.auth) != (
        matched["scheme"],
        host,
        int(written_port) if written_port else None,
        None,
    ):
        raise _refusal(who, f"{shown} is read differently by the HTTP client")
    return normalised


def base_url_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the API base URL from the connection's Host (and Port, Schema), without a trailing slash.

    Plain ``http://`` would send the token unencrypted: it is refused, before any request, for any
    host but this machine (127.0.0.0/8, ::1, ``localhost``: the emulator), unless the connection's
    extra ``allow_insecure_http`` is true. A user name or password in the host is refused (and never
    shown), as is any URL that parsers could read differently (see the module's docstring).

    :param connection: the Airflow connection; an empty Host means Metrika's public API.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    host = (connection.host or "").strip()
    if not host:
        return DEFAULT_API_URL
    name = who or named(connection)
    url = normalise_base_url(host, connection.schema or "https", connection.port, name)
    parsed = parse_url(url)
    remote = not is_loopback_host(parsed.host or "")
    if parsed.scheme == "http" and remote and not _insecure_allowed(connection):
        raise MetrikaInvalidArgumentError(
            f"{name}: 'API base URL' {url} is plain http:// to "
            "another machine, so the OAuth token would travel unencrypted; nothing was sent. Use "
            f"https:// (Metrika's API is {DEFAULT_API_URL}; an empty 'API base URL' means it), or, "
            "only for a trusted proxy, set the connection's extra allow_insecure_http to true."
        )
    return url


def is_loopback_host(hostname: str) -> bool:
    """
    Tell whether a host name is this machine: ``localhost``, 127.0.0.0/8 or ::1.

    Sub-domains of ``localhost`` do not count: a resolver may send them to DNS.

    :param hostname: the host part of a URL, with or without IPv6 brackets.
    """
    name = hostname.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
