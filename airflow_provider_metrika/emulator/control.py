"""The test-only control API under ``/_emulator``: reset, settings, faults and what was received."""

from __future__ import annotations

from aiohttp import web

from airflow_provider_metrika.emulator.constants import CONTROL_PREFIX
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.faults import Fault
from airflow_provider_metrika.emulator.keys import STATE_KEY
from airflow_provider_metrika.emulator.linking import parse_visit
from airflow_provider_metrika.emulator.state import parse_counter_id


async def _json_object(request: web.Request) -> dict[str, object]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return data


def _counter_id(request: web.Request) -> int:
    try:
        return parse_counter_id(request.match_info["counter_id"])
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "counter_id") from exc


async def reset(request: web.Request) -> web.Response:
    """Forget orders, visits, uploadings, the request log and faults; keep tokens and counters.

    The pacing knobs (delays, ``parallel_limit``, ``max_file_bytes``, ``store_orders``) and the
    goals return to their startup values.

    :param request: ``POST /_emulator/reset``.
    """
    request.app[STATE_KEY].reset()
    return web.json_response({"reset": True})


async def get_config(request: web.Request) -> web.Response:
    """Show the current settings.

    :param request: ``GET /_emulator/config``.
    """
    return web.json_response(request.app[STATE_KEY].settings.to_json())


async def set_config(request: web.Request) -> web.Response:
    """Change settings; keys left out keep their values, ``tokens`` and ``counters`` are replaced whole.

    :param request: ``POST /_emulator/config`` with any of ``tokens``, ``counters``, ``listing_delay``,
        ``status_delay``, ``parallel_limit``, ``max_file_bytes``, ``store_orders``, ``echo_titles``,
        ``last_uploadings_needs_read``, ``goals``.
    """
    state = request.app[STATE_KEY]
    data = await _json_object(request)
    try:
        state.settings = state.settings.updated(data)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_parameter", str(exc)) from exc
    return web.json_response(state.settings.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    """Forget every waiting fault.

    :param request: ``DELETE /_emulator/faults``.
    """
    request.app[STATE_KEY].faults.clear()
    return web.json_response({"faults": []})


async def add_faults(request: web.Request) -> web.Response:
    """Queue faults after those already waiting; all or none are accepted.

    :param request: ``POST /_emulator/faults`` with ``{"faults": [...]}``.
    """
    state = request.app[STATE_KEY]
    data = await _json_object(request)
    raw = data.get("faults")
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ApiError(400, "invalid_parameter", "faults must be a list of objects", "faults")
    try:
        faults = [Fault.from_json(item) for item in raw]
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "faults") from exc
    state.faults.extend(faults)
    return web.json_response({"faults": state.faults.to_json()})


async def release(request: web.Request) -> web.Response:
    """Let the requests held by ``hold`` faults go on.

    :param request: ``POST /_emulator/release``.
    """
    return web.json_response({"released": request.app[STATE_KEY].release()})


async def get_held(request: web.Request) -> web.Response:
    """Show how many requests a ``hold`` fault is holding now.

    :param request: ``GET /_emulator/held``.
    """
    return web.json_response({"held": request.app[STATE_KEY].held})


async def get_faults(request: web.Request) -> web.Response:
    """Show the faults still waiting, with their remaining uses.

    :param request: ``GET /_emulator/faults``.
    """
    return web.json_response({"faults": request.app[STATE_KEY].faults.to_json()})


async def get_requests(request: web.Request) -> web.Response:
    """Show every API request received since the last reset, oldest first.

    :param request: ``GET /_emulator/requests``.
    """
    return web.json_response({"requests": request.app[STATE_KEY].request_log})


async def get_orders(request: web.Request) -> web.Response:
    """Show the orders stored for a counter.

    :param request: ``GET /_emulator/counters/{counter_id}/orders``.
    """
    state = request.app[STATE_KEY]
    counter_id = _counter_id(request)
    with state.lock:
        snapshot = state.order_store(counter_id).snapshot()
    return web.json_response(snapshot)


async def get_uploadings(request: web.Request) -> web.Response:
    """Show every uploading of a counter, newest first, whatever the listing delay.

    :param request: ``GET /_emulator/counters/{counter_id}/uploadings``.
    """
    counter_id = _counter_id(request)
    uploadings = reversed(request.app[STATE_KEY].uploadings(counter_id))
    return web.json_response({"uploadings": [uploading.to_control() for uploading in uploadings]})


async def add_visits(request: web.Request) -> web.Response:
    """Seed visits of a counter, for linking uploaded orders (see :mod:`.linking`); all or none.

    :param request: ``POST /_emulator/counters/{counter_id}/visits`` with ``{"visits": [{"time":
        "YYYY-MM-DD HH:MM[:SS]", "client_id": ..., "email": ..., "phone": ...}, ...]}``.
    """
    state = request.app[STATE_KEY]
    counter_id = _counter_id(request)
    raw = (await _json_object(request)).get("visits")
    if not isinstance(raw, list):
        raise ApiError(400, "invalid_parameter", "visits must be a list of objects", "visits")
    try:
        visits = [parse_visit(item) for item in raw]
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "visits") from exc
    return web.json_response({"visits": state.add_visits(counter_id, visits)})


async def get_visits(request: web.Request) -> web.Response:
    """Show the visits seeded for a counter.

    :param request: ``GET /_emulator/counters/{counter_id}/visits``.
    """
    visits = request.app[STATE_KEY].visits(_counter_id(request))
    return web.json_response({"visits": [visit.to_json() for visit in visits]})


def add_control_routes(app: web.Application) -> None:
    """Register the control API on ``app``; the API middleware renders its errors.

    :param app: the emulator application.
    """
    app.router.add_routes(
        [
            web.post(f"{CONTROL_PREFIX}/reset", reset),
            web.get(f"{CONTROL_PREFIX}/config", get_config),
            web.post(f"{CONTROL_PREFIX}/config", set_config),
            web.post(f"{CONTROL_PREFIX}/faults", add_faults),
            web.delete(f"{CONTROL_PREFIX}/faults", clear_faults),
            web.get(f"{CONTROL_PREFIX}/faults", get_faults),
            web.post(f"{CONTROL_PREFIX}/release", release),
            web.get(f"{CONTROL_PREFIX}/held", get_held),
            web.get(f"{CONTROL_PREFIX}/requests", get_requests),
            web.get(f"{CONTROL_PREFIX}/counters/{{counter_id}}/orders", get_orders),
            web.get(f"{CONTROL_PREFIX}/counters/{{counter_id}}/uploadings", get_uploadings),
            web.post(f"{CONTROL_PREFIX}/counters/{{counter_id}}/visits", add_visits),
            web.get(f"{CONTROL_PREFIX}/counters/{{counter_id}}/visits", get_visits),
        ]
    )
