"""Reading a Metrika connection: the token, the extras, the retry settings (the base URL: `.base_url`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import mask_secret
from airflow_provider_metrika.arguments import read_number
from airflow_provider_metrika.constants import MAX_HTTP_SECONDS, MAX_RETRY_LIMIT
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.access import RECOMMENDED_SCOPES
from airflow_provider_metrika.hooks.base_url import base_url_from_connection, is_loopback_host
from airflow_provider_metrika.hooks.connection_fields import named, normalise_extras
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
