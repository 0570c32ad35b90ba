"""Building request parameters and reading Metrika's answers, shared by the hook's sync and async calls."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import requests

from airflow_provider_metrika.constants import MAX_LIST_LIMIT
from airflow_provider_metrika.exceptions import (
    MetrikaConnectionError,
    MetrikaError,
    MetrikaInvalidArgumentError,
    api_error_from_response,
)
from airflow_provider_metrika.hooks.retries import parse_retry_after
from airflow_provider_metrika.hooks.uploadings_search import UploadingsSearch


def list_params(limit: int, datetime_offset: str | datetime | None) -> dict[str, Any]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise MetrikaInvalidArgumentError(
            f"limit must be an integer from 1 to {MAX_LIST_LIMIT}; got {limit!r}"
        )
    params: dict[str, Any] = {"limit": limit, "source": "API"}
    if datetime_offset is not None:
        params["datetime_offset"] = UploadingsSearch.format_datetime(datetime_offset)
    return params


def uploading_from_answer(answer: Any) -> dict[str, Any]:
    uploading = answer.get("uploading") if isinstance(answer, dict) else None
    if not isinstance(uploading, dict) or "uploading_id" not in uploading:
        raise MetrikaError(f"Metrika's answer to the upload has no 'uploading' object: {str(answer)[:200]}")
    return uploading


def uploadings_from_answer(answer: Any) -> list[dict[str, Any]]:
    uploadings = answer.get("uploadings") if isinstance(answer, dict) else None
    if not isinstance(uploadings, list):
        raise MetrikaError(f"Metrika's answer has no 'uploadings' list: {str(answer)[:200]}")
    return [u for u in uploadings if isinstance(u, dict)]


def is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    name = type(inner).__name__
    return name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError")


def connection_failure(exc: requests.exceptions.RequestException) -> str:
    reason = exc.args[0] if exc.args else exc
    inner = getattr(reason, "reason", reason)
    return f"connection failed ({type(inner).__name__})"


async def aget_json(session: aiohttp.ClientSession, url: str, params: dict[str, Any] | None) -> Any:
    try:
        async with session.get(url, params=params) as response:
            body = await response.read()
            if response.status >= 400:
                raise api_error_from_response(
                    response.status, body, parse_retry_after(response.headers.get("Retry-After"))
                )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MetrikaConnectionError(f"GET {url}: connection failed ({type(exc).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise MetrikaError(f"GET {url}: the answer is not JSON: {body[:200]!r}") from None
