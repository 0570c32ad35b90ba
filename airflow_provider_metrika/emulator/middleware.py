"""What wraps every API request: the request log, the parallel-requests quota and injected faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from airflow_provider_metrika.emulator.api import read_upload, request_token
from airflow_provider_metrika.emulator.constants import CONTROL_PREFIX, DROP_AFTER, UPLOAD_TARGETS
from airflow_provider_metrika.emulator.errors import ApiError, error_response
from airflow_provider_metrika.emulator.faults import Fault
from airflow_provider_metrika.emulator.keys import CURRENT_LOG_ENTRY, FORCED_VALIDATION_KEY, STATE_KEY

logger = logging.getLogger(__name__)

_DROPPED = "dropped"


class _DroppedResponse(web.Response):
    """Stands for a connection closed without an answer; aiohttp fails quietly writing it."""


def _log_entry(request: web.Request) -> dict[str, object]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return {
        "method": request.method,
        "path": request.path,
        "query": {name: request.query.getone(name) for name in request.query},
        "headers": headers,
        "multipart": [],
        "status": None,
        "received_at": datetime.now(UTC).isoformat(),
    }


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log the request, enforce ``parallel_limit``, apply the next matching fault, render errors.

    Control requests under ``/_emulator`` are neither logged, limited nor faulted.

    :param request: the incoming request.
    :param handler: the route's handler.
    """
    if request.path.startswith(CONTROL_PREFIX):
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.to_response()
    state = request.app[STATE_KEY]
    entry = _log_entry(request)
    state.request_log.append(entry)
    CURRENT_LOG_ENTRY.set(entry)
    quota_key = request_token(request) or ""
    response: web.StreamResponse | None = None
    counted = False
    try:
        limit = state.settings.parallel_limit
        if limit is not None and state.in_flight.get(quota_key, 0) >= limit:
            raise ApiError(
                429, "quota_parallel_requests", f"Too many parallel requests: the limit is {limit}"
            )
        state.in_flight[quota_key] = state.in_flight.get(quota_key, 0) + 1
        counted = True
        target = request.match_info.route.name
        response = await _handle(request, handler, state.faults.take(target), target)
    except ApiError as exc:
        response = exc.to_response()
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        response = error_response(500, "backend_error", "Internal emulator error")
    finally:
        if counted:
            state.in_flight[quota_key] -= 1
        if response is None or isinstance(response, _DroppedResponse):
            entry["status"] = _DROPPED
        else:
            entry["status"] = response.status
        logger.info("%s %s %s", request.method, request.path, entry["status"])
    return response


async def _handle(
    request: web.Request, handler: Handler, fault: Fault | None, target: str | None
) -> web.StreamResponse:
    if fault is not None and fault.answers_unprocessed:
        if target in UPLOAD_TARGETS:
            await _discard_upload(request)
        return await _answer_fault(request, fault)
    if fault is not None and fault.validation is not None:
        request[FORCED_VALIDATION_KEY] = fault.validation
    try:
        response = await handler(request)
    except ApiError as exc:
        response = exc.to_response()
    except web.HTTPException as exc:
        # The router's own 404 and 405 answers, in Metrika's shape.
        error_type = "not_found" if exc.status == 404 else "invalid_parameter"
        response = error_response(exc.status, error_type, exc.reason)
    if fault is None:
        return response
    if fault.drop == DROP_AFTER or fault.status is not None:
        return await _answer_fault(request, fault)
    await _pause(request, fault)
    return response


async def _pause(request: web.Request, fault: Fault) -> None:
    """Wait ``delay`` seconds, or, for a ``hold``, until released (``delay`` seconds at most)."""
    if fault.hold:
        await request.app[STATE_KEY].hold(fault.delay)
    else:
        await asyncio.sleep(fault.delay)


async def _discard_upload(request: web.Request) -> None:
    # The body is read so that the client finishes sending and the log records what it sent.
    state = request.app[STATE_KEY]
    with tempfile.TemporaryDirectory(prefix="metrika-emulator-") as directory, contextlib.suppress(ApiError):
        await read_upload(request, Path(directory), state.settings.max_file_bytes)


async def _answer_fault(request: web.Request, fault: Fault) -> web.StreamResponse:
    await _pause(request, fault)
    if fault.drop is not None:
        if request.transport is not None:
            request.transport.close()
        return _DroppedResponse()
    assert fault.status is not None
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
    return error_response(
        fault.status,
        fault.resolved_error_type,
        fault.message or f"Injected fault: HTTP {fault.status}",
        headers=headers,
    )
