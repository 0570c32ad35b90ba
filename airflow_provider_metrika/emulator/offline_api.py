"""Handlers of the emulated offline conversions and calls API (``.../offline_conversions/...``)."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from airflow_provider_metrika.emulator.api import authorize, read_upload
from airflow_provider_metrika.emulator.constants import (
    CALLS_THRESHOLD_PATH,
    CALLS_UPLOAD_PATH,
    CALLS_UPLOADING_PATH,
    CALLS_UPLOADINGS_PATH,
    CLIENT_ID_TYPES,
    CONVERSION_UPLOAD_TYPES,
    CONVERSIONS_THRESHOLD_PATH,
    CONVERSIONS_UPLOAD_PATH,
    CONVERSIONS_UPLOADING_PATH,
    CONVERSIONS_UPLOADINGS_PATH,
    DEFAULT_OFFLINE_LIST_LIMIT,
    MAX_COMMENT_LENGTH,
    MULTIPART_OVERHEAD_BYTES,
    OPEN_VISIT_JOIN_THRESHOLD,
    TARGET_CALLS_THRESHOLD,
    TARGET_CALLS_UPLOAD,
    TARGET_CALLS_UPLOADING,
    TARGET_CALLS_UPLOADINGS,
    TARGET_CONVERSIONS_THRESHOLD,
    TARGET_CONVERSIONS_UPLOAD,
    TARGET_CONVERSIONS_UPLOADING,
    TARGET_CONVERSIONS_UPLOADINGS,
    UPLOAD_PART_NAME,
)
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.keys import STATE_KEY
from airflow_provider_metrika.emulator.offline_files import CALLS, CONVERSIONS, FileRefused, read_offline_file
from airflow_provider_metrika.emulator.offline_state import KIND_CALLS, KIND_CONVERSIONS, OfflineUploading

#: Letters (Latin, Cyrillic) and digits: what Metrika documents as allowed in ``comment``.
_COMMENT = re.compile(r"[0-9A-Za-zА-Яа-яЁё]*")
_FILE_KINDS = {KIND_CONVERSIONS: CONVERSIONS, KIND_CALLS: CALLS}


def _comment(query: Mapping[str, str]) -> str:
    comment = query.get("comment", "")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ApiError(
            400, "invalid_parameter", f"comment is longer than {MAX_COMMENT_LENGTH} characters", "comment"
        )
    if not _COMMENT.fullmatch(comment):
        raise ApiError(
            400, "invalid_parameter", "comment may hold only letters (Latin, Cyrillic) and digits", "comment"
        )
    return comment


def _optional_choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Invalid value {value!r} of parameter {name} (allowed: {', '.join(allowed)})",
            name,
        )
    return value


def _check_window(request: web.Request, counter_id: int, kind: str) -> None:
    state = request.app[STATE_KEY]
    opens = state.offline.counter(counter_id).thresholds[kind]
    today = datetime.now(ZoneInfo(state.settings.counters[counter_id])).date()
    if opens is not None and today < opens:
        # Metrika's error type for this refusal is not documented; the message is.
        raise ApiError(400, "invalid_uploading", f"upload becomes available on {opens.isoformat()}")


async def _upload(request: web.Request, kind: str) -> web.Response:
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    comment = _comment(request.query)
    client_id_type = upload_type = None
    if kind == KIND_CONVERSIONS:
        client_id_type = _optional_choice(request.query, "client_id_type", CLIENT_ID_TYPES)
        upload_type = _optional_choice(request.query, "type", CONVERSION_UPLOAD_TYPES)
    _check_window(request, counter_id, kind)
    max_bytes = state.settings.max_file_bytes
    if request.content_length is not None and request.content_length > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise ApiError(400, "limit_exceeded", f"File is larger than {max_bytes} bytes", UPLOAD_PART_NAME)
    with tempfile.TemporaryDirectory(prefix="metrika-emulator-") as directory:
        body = await read_upload(request, Path(directory), max_bytes)
        if body.file_path is None or body.file_part is None:
            missing = f"multipart part named {UPLOAD_PART_NAME!r} is missing"
            raise ApiError(400, "invalid_uploading", missing, UPLOAD_PART_NAME)
        if body.too_large:
            raise ApiError(400, "limit_exceeded", f"File is larger than {max_bytes} bytes", UPLOAD_PART_NAME)
        try:
            parsed = await asyncio.to_thread(
                read_offline_file, body.file_path, _FILE_KINDS[kind], client_id_type, time.time()
            )
        except FileRefused as exc:
            raise ApiError(400, "invalid_uploading", str(exc), UPLOAD_PART_NAME) from None
    details: dict[str, object] = {
        "file_name": body.file_part.filename or "",
        "file_size": body.file_part.size,
        "file_sha256": body.file_part.sha256,
        "type": upload_type,
        "new_goal_name": request.query.get("new_goal_name"),
    }
    uploading = state.offline.store(counter_id, kind, parsed, comment, details)
    return web.json_response({"uploading": uploading.to_api()})


def _non_negative_int(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < low:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer of at least {low}", name)
    return int(text)


def _poll(request: web.Request, uploading: OfflineUploading) -> dict[str, object]:
    return uploading.poll(datetime.now(UTC), request.app[STATE_KEY].settings.status_delay)


async def _get_uploading(request: web.Request, kind: str) -> web.Response:
    counter_id = authorize(request)
    text = request.match_info["uploading_id"]
    found = request.app[STATE_KEY].offline.find(counter_id, kind, int(text)) if text.isdigit() else None
    if found is None:
        raise ApiError(404, "not_found", f"Uploading {text} not found", "id")
    return web.json_response({"uploading": _poll(request, found)})


async def _list_uploadings(request: web.Request, kind: str) -> web.Response:
    counter_id = authorize(request)
    limit = _non_negative_int(request.query, "limit", DEFAULT_OFFLINE_LIST_LIMIT, 1)
    offset = _non_negative_int(request.query, "offset", 0, 0)
    shown = request.app[STATE_KEY].offline.counter(counter_id).newest_first(kind)[offset : offset + limit]
    return web.json_response({"uploadings": [_poll(request, uploading) for uploading in shown]})


async def _threshold(request: web.Request, kind: str) -> web.Response:
    counter_id = authorize(request)
    opens = request.app[STATE_KEY].offline.counter(counter_id).thresholds[kind]
    return web.json_response({"date": opens.isoformat() if opens else OPEN_VISIT_JOIN_THRESHOLD})


async def upload_conversions(request: web.Request) -> web.Response:
    """Accept an offline conversions CSV: ``POST .../upload?comment=&client_id_type=[&type=]``.

    :param request: the upload.
    """
    return await _upload(request, KIND_CONVERSIONS)


async def upload_calls(request: web.Request) -> web.Response:
    """Accept a calls CSV: ``POST .../upload_calls?comment=[&new_goal_name=]``.

    :param request: the upload.
    """
    return await _upload(request, KIND_CALLS)


async def get_conversions_uploading(request: web.Request) -> web.Response:
    """Answer one conversions uploading: ``GET .../uploading/{id}``; each read is a poll.

    :param request: the read.
    """
    return await _get_uploading(request, KIND_CONVERSIONS)


async def get_calls_uploading(request: web.Request) -> web.Response:
    """Answer one calls uploading: ``GET .../calls_uploading/{id}``; each read is a poll.

    :param request: the read.
    """
    return await _get_uploading(request, KIND_CALLS)


async def list_conversions_uploadings(request: web.Request) -> web.Response:
    """List conversions uploadings newest first: ``GET .../uploadings?limit=&offset=``.

    :param request: the read.
    """
    return await _list_uploadings(request, KIND_CONVERSIONS)


async def list_calls_uploadings(request: web.Request) -> web.Response:
    """List calls uploadings newest first: ``GET .../calls_uploadings?limit=&offset=``.

    :param request: the read.
    """
    return await _list_uploadings(request, KIND_CALLS)


async def conversions_threshold(request: web.Request) -> web.Response:
    """Answer ``GET .../visit_join_threshold`` with ``{"date": "YYYY-MM-DD"}``.

    :param request: the read.
    """
    return await _threshold(request, KIND_CONVERSIONS)


async def calls_threshold(request: web.Request) -> web.Response:
    """Answer ``GET .../calls_visit_join_threshold`` with ``{"date": "YYYY-MM-DD"}``.

    :param request: the read.
    """
    return await _threshold(request, KIND_CALLS)


def add_offline_routes(app: web.Application) -> None:
    """Register the offline conversions and calls API on ``app``; route names double as fault targets.

    :param app: the emulator application.
    """
    routes = (
        ("POST", CONVERSIONS_UPLOAD_PATH, upload_conversions, TARGET_CONVERSIONS_UPLOAD),
        ("GET", CONVERSIONS_UPLOADING_PATH, get_conversions_uploading, TARGET_CONVERSIONS_UPLOADING),
        ("GET", CONVERSIONS_UPLOADINGS_PATH, list_conversions_uploadings, TARGET_CONVERSIONS_UPLOADINGS),
        ("GET", CONVERSIONS_THRESHOLD_PATH, conversions_threshold, TARGET_CONVERSIONS_THRESHOLD),
        ("POST", CALLS_UPLOAD_PATH, upload_calls, TARGET_CALLS_UPLOAD),
        ("GET", CALLS_UPLOADING_PATH, get_calls_uploading, TARGET_CALLS_UPLOADING),
        ("GET", CALLS_UPLOADINGS_PATH, list_calls_uploadings, TARGET_CALLS_UPLOADINGS),
        ("GET", CALLS_THRESHOLD_PATH, calls_threshold, TARGET_CALLS_THRESHOLD),
    )
    for method, path, handler, name in routes:
        app.router.add_route(method, path, handler, name=name)
