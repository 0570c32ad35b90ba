"""Reading a Metrika connection: the token, the API base URL (and where it may go), the extras."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_metrika.constants import CONN_TYPE, DEFAULT_API_URL
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.access import RECOMMENDED_SCOPES
from airflow_provider_metrika.hooks.retries import RetryPolicy

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection


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


def base_url_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the API base URL from the connection's Host (and Port, Schema), without a trailing slash.

    Plain ``http://`` would send the token unencrypted: it is refused, before any request, for any
    host but this machine (127.0.0.0/8, ::1, ``localhost``: the emulator), unless the connection's
    extra ``allow_insecure_http`` is true.

    :param connection: the Airflow connection; an empty Host means Metrika's public API.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    host = (connection.host or "").strip()
    if not host:
        return DEFAULT_API_URL
    if "://" not in host:
        host = f"{connection.schema or 'https'}://{host}"
    if connection.port and not urlparse(host).port:
        host = f"{host.rstrip('/')}:{connection.port}"
    parsed = urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise MetrikaInvalidArgumentError(
            f"{who or named(connection)}: 'API base URL' must look like {DEFAULT_API_URL} "
            f"(or http://127.0.0.1:8765 for the emulator); got {connection.host!r}"
        )
    insecure_allowed = truthy(normalise_extras(connection.extra_dejson).get("allow_insecure_http"))
    if parsed.scheme == "http" and not is_loopback_host(parsed.hostname) and not insecure_allowed:
        raise MetrikaInvalidArgumentError(
            f"{who or named(connection)}: 'API base URL' {host.rstrip('/')} is plain http:// to "
            "another machine, so the OAuth token would travel unencrypted; nothing was sent. Use "
            f"https:// (Metrika's API is {DEFAULT_API_URL}; an empty 'API base URL' means it), or, "
            "only for a trusted proxy, set the connection's extra allow_insecure_http to true."
        )
    return host.rstrip("/")


def is_loopback_host(hostname: str) -> bool:
    """
    Tell whether a host name is this machine: ``localhost``, 127.0.0.0/8 or ::1.

    :param hostname: the host part of a URL, without brackets.
    """
    name = hostname.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return value is True or value == 1


def named(connection: Connection) -> str:
    return f"Connection {connection.conn_id!r}"


def normalise_extras(extras: dict[str, Any]) -> dict[str, Any]:
    prefix = f"extra__{CONN_TYPE}__"
    folded = {key.removeprefix(prefix): value for key, value in extras.items() if key.startswith(prefix)}
    return {**folded, **{k: v for k, v in extras.items() if not k.startswith(prefix)}}


def retry_policy(arguments: dict[str, Any], extras: dict[str, Any]) -> RetryPolicy:
    settings: dict[str, Any] = {}
    for name, convert in (("retry_limit", int), ("retry_delay", float), ("max_retry_delay", float)):
        value = arguments.get(name)
        if value is None:
            value = extras.get(name)
        if value in (None, ""):
            continue
        try:
            settings[name] = convert(value)
        except (TypeError, ValueError):
            raise MetrikaInvalidArgumentError(f"{name} must be a number; got {value!r}") from None
    try:
        return RetryPolicy(**settings)
    except ValueError as exc:
        raise MetrikaInvalidArgumentError(str(exc)) from None
