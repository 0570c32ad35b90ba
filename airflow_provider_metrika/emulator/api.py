"""Handlers of the emulated Metrika API: simplified orders upload, ``last_uploadings`` and the counter."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from airflow_provider_metrika.emulator import reports
from airflow_provider_metrika.emulator.constants import (
    DEFAULT_DELIMITER_TYPE,
    DEFAULT_LAST_UPLOADINGS_LIMIT,
    DELIMITERS,
    MAX_LAST_UPLOADINGS_LIMIT,
    MERGE_MODES,
    MULTIPART_OVERHEAD_BYTES,
    STATUS_FAILED,
    STATUS_IN_PROGRESS,
    STATUS_PASSED,
    UPLOAD_PART_NAME,
)
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.keys import CURRENT_LOG_ENTRY, FORCED_VALIDATION_KEY, STATE_KEY
from airflow_provider_metrika.emulator.scopes import scopes_needed
from airflow_provider_metrika.emulator.state import EmulatorState, parse_counter_id
from airflow_provider_metrika.emulator.upload_body import NotMultipartError, UploadBody, read_upload_body
from airflow_provider_metrika.emulator.uploadings import list_visible, parse_datetime_offset
from airflow_provider_metrika.emulator.validation import ValidationResult, iter_records, validate_file


def request_token(request: web.Request) -> str | None:
    """Return the OAuth token of the ``Authorization`` header, or ``None`` when absent or malformed.

    :param request: the API request.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "oauth" and token else None


def authorize_token(request: web.Request) -> str:
    """Check the token and the scopes the endpoint needs; return the token.

    :param request: an API request.
    :raises ApiError: 401 for a missing or unknown token, 403 when the token lacks the scope the
        endpoint needs (see :data:`~airflow_provider_metrika.emulator.scopes.SCOPE_RULES`).
    """
    settings = request.app[STATE_KEY].settings
    token = request_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "Authorization header 'OAuth <token>' is missing or malformed")
    if token not in settings.tokens:
        raise ApiError(401, "unauthorized", "Invalid OAuth token")
    granted = settings.token_scopes.get(token)
    if granted is not None:
        route = request.match_info.route.resource
        needed = scopes_needed(
            request.method, route.canonical if route else "", settings.last_uploadings_needs_read
        )
        if needed and not granted & needed:
            # Metrika's answer names no cause: the client must work out which scope was missing.
            raise ApiError(403, "access_denied", "Access is denied")
    return token


def authorize(request: web.Request, counter_text: str | None = None) -> int:
    """Check token, scopes, counter and access in Metrika's order; return the counter id.

    :param request: an API request whose path holds ``counter_id``.
    :param counter_text: the counter id when it is not in the path (the Reports API's ``ids``).
    :raises ApiError: 401 for a missing or unknown token, 403 when the token lacks the scope the
        endpoint needs (see :data:`~airflow_provider_metrika.emulator.scopes.SCOPE_RULES`), 404 for
        an unknown counter, 403 when the token may not use the counter.
    """
    settings = request.app[STATE_KEY].settings
    token = authorize_token(request)
    try:
        counter_id = parse_counter_id(
            request.match_info["counter_id"] if counter_text is None else counter_text
        )
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "counterId") from exc
    if counter_id not in settings.counters:
        raise ApiError(404, "not_found", f"Counter {counter_id} not found", "counterId")
    allowed = settings.tokens[token]
    if allowed is not None and counter_id not in allowed:
        raise ApiError(403, "access_denied", f"Access to counter {counter_id} is denied", "counterId")
    return counter_id


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str | None) -> str:
    value = query.get(name, default)
    if value is None:
        raise ApiError(
            400,
            "missing_parameter",
            f"Required parameter {name} is missing (allowed: {', '.join(allowed)})",
            name,
        )
    if value not in allowed:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Invalid value {value!r} of parameter {name} (allowed: {', '.join(allowed)})",
            name,
        )
    return value


async def upload_simple_orders(request: web.Request) -> web.Response:
    """Accept a simplified orders CSV, validate it and apply it to the counter's orders.

    :param request: ``POST .../data/simple_orders?merge_mode=...&delimiter_type=...``.
    """
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    merge_mode = _choice(request.query, "merge_mode", MERGE_MODES, None)
    delimiter_type = _choice(request.query, "delimiter_type", tuple(DELIMITERS), DEFAULT_DELIMITER_TYPE)
    max_bytes = state.settings.max_file_bytes
    if request.content_length is not None and request.content_length > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise ApiError(400, "limit_exceeded", f"File is larger than {max_bytes} bytes", UPLOAD_PART_NAME)
    with tempfile.TemporaryDirectory(prefix="metrika-emulator-") as directory:
        body = await read_upload(request, Path(directory), max_bytes)
        if body.file_path is None or body.file_part is None:
            raise ApiError(
                400,
                "invalid_uploading",
                f"multipart part named {UPLOAD_PART_NAME!r} is missing",
                UPLOAD_PART_NAME,
            )
        if body.too_large:
            raise ApiError(400, "limit_exceeded", f"File is larger than {max_bytes} bytes", UPLOAD_PART_NAME)
        # Validation and applying read the whole file: keep them off the event loop.
        if request.get(FORCED_VALIDATION_KEY) == STATUS_FAILED:
            result = validate_file(body.file_path, DELIMITERS[delimiter_type])
            result.add_error("Injected fault: validation FAILED")
        else:
            result = await asyncio.to_thread(
                _validate_and_apply, state, counter_id, merge_mode, body.file_path, DELIMITERS[delimiter_type]
            )
    uploading = state.add_uploading(
        counter_id,
        status=STATUS_PASSED if result.passed else STATUS_FAILED,
        elements_count=result.elements_count,
        title=body.file_part.filename or "",
        errors=result.errors,
        details={
            "merge_mode": merge_mode,
            "delimiter_type": delimiter_type,
            "file_size": body.file_part.size,
            "file_sha256": body.file_part.sha256,
            "duplicate_ids": result.duplicate_ids,
            "columns": list(result.columns),
        },
    )
    # As a listing within status_delay of its creation, the answer reads IN_PROGRESS.
    shown = STATUS_IN_PROGRESS if state.settings.status_delay > 0 else None
    return web.json_response({"uploading": uploading.to_api(shown, with_title=state.settings.echo_titles)})


async def read_upload(request: web.Request, directory: Path, max_bytes: int) -> UploadBody:
    """Read the multipart body into ``directory``, recording its parts in the request log.

    :param request: the upload request.
    :param directory: a private temporary directory.
    :param max_bytes: the file size limit.
    :raises ApiError: 400 ``invalid_uploading`` when the body is not multipart.
    """
    parts: list[dict[str, object]] = []
    entry = CURRENT_LOG_ENTRY.get()
    if entry is not None:
        entry["multipart"] = parts
    try:
        return await read_upload_body(request, directory, max_bytes, parts)
    except NotMultipartError as exc:
        raise ApiError(400, "invalid_uploading", str(exc), UPLOAD_PART_NAME) from exc


def _validate_and_apply(
    state: EmulatorState, counter_id: int, merge_mode: str, path: Path, delimiter: str
) -> ValidationResult:
    result = validate_file(path, delimiter)
    if result.passed and state.settings.store_orders:
        # A second pass applies the rows: nothing is stored unless the whole file is valid.
        with state.lock:
            state.order_store(counter_id).apply(merge_mode, iter_records(path, delimiter))
    return result


def _limit(query: Mapping[str, str]) -> int:
    text = query.get("limit")
    if text is None:
        return DEFAULT_LAST_UPLOADINGS_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LAST_UPLOADINGS_LIMIT:
        raise ApiError(
            400,
            "invalid_parameter",
            f"limit must be an integer from 1 to {MAX_LAST_UPLOADINGS_LIMIT}",
            "limit",
        )
    return int(text)


async def last_uploadings(request: web.Request) -> web.Response:
    """List the counter's uploadings newest first, as delays and ``datetime_offset`` allow.

    :param request: ``GET .../last_uploadings?limit=...&datetime_offset=...&source=API``.
    """
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    limit = _limit(request.query)
    offset_text = request.query.get("datetime_offset")
    try:
        older_than = parse_datetime_offset(offset_text) if offset_text else None
    except ValueError as exc:
        raise ApiError(
            400,
            "invalid_parameter",
            f"datetime_offset {offset_text!r} is not YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS",
            "datetime_offset",
        ) from exc
    # Every emulated uploading comes from the API, so another source lists nothing.
    source = request.query.get("source", "API")
    uploadings = state.uploadings(counter_id) if source == "API" else []
    shown = list_visible(
        uploadings,
        now=datetime.now(UTC),
        listing_delay=state.settings.listing_delay,
        status_delay=state.settings.status_delay,
        older_than=older_than,
        limit=limit,
        with_titles=state.settings.echo_titles,
    )
    return web.json_response({"uploadings": shown})


async def get_counter(request: web.Request) -> web.Response:
    """Describe the counter, proving token and counter access.

    :param request: ``GET /management/v1/counter/{counterId}``.
    """
    counter_id = authorize(request)
    time_zone = request.app[STATE_KEY].settings.counters[counter_id]
    return web.json_response({"counter": _counter_json(counter_id, time_zone)})


def _counter_json(counter_id: int, time_zone: str) -> dict[str, object]:
    return {
        "id": counter_id,
        "name": f"Emulated counter {counter_id}",
        "site": "example.com",
        "status": "Active",
        "time_zone_name": time_zone,
    }


async def list_counters(request: web.Request) -> web.Response:
    """List the counters the token may use, as ``GET /management/v1/counters`` does.

    :param request: the counters request (Metrika's filters and paging are not modelled).
    """
    token = authorize_token(request)
    settings = request.app[STATE_KEY].settings
    allowed = settings.tokens[token]
    counters = [
        _counter_json(counter_id, zone)
        for counter_id, zone in sorted(settings.counters.items())
        if allowed is None or counter_id in allowed
    ]
    return web.json_response({"rows": len(counters), "counters": counters})


async def get_goals(request: web.Request) -> web.Response:
    """List the counter's goals, as ``GET /management/v1/counter/{counterId}/goals`` does.

    :param request: the goals request; ``useDeleted`` is accepted and changes nothing (no goal is
        ever deleted here).
    """
    counter_id = authorize(request)
    return web.json_response({"goals": request.app[STATE_KEY].settings.goals_of(counter_id)})


async def stat_data(request: web.Request) -> web.Response:
    """Answer the Reports API's table of linked CRM orders (see :mod:`.reports`).

    :param request: ``GET /stat/v1/data?ids=<counter>&metrics=...``; needs ``metrika:read``.
    """
    ids = [item for item in request.query.get("ids", "").split(",") if item]
    if not ids:
        raise ApiError(400, "missing_parameter", "Required parameter ids is missing", "ids")
    if len(ids) > 1:
        raise ApiError(400, "invalid_parameter", "the emulator answers one counter per request", "ids")
    counter_id = authorize(request, ids[0])
    return await reports.stat_data(request, counter_id)
