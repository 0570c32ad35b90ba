"""The control API of offline conversions and calls: what a counter stores, and its test settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from aiohttp import web

from airflow_provider_metrika.emulator.constants import CONTROL_PREFIX
from airflow_provider_metrika.emulator.control import _counter_id, _json_object
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.keys import STATE_KEY
from airflow_provider_metrika.emulator.offline_state import KIND_CALLS, KIND_CONVERSIONS, CounterOffline

#: Setting key -> the kind whose window it sets.
_THRESHOLD_KEYS = {"visit_join_threshold": KIND_CONVERSIONS, "calls_visit_join_threshold": KIND_CALLS}
_KEYS = (*_THRESHOLD_KEYS, "unlinked_identifiers", "dropped_identifiers", "hold_processing")


def _settings_json(counter: CounterOffline) -> dict[str, object]:
    thresholds = {
        key: None if counter.thresholds[kind] is None else str(counter.thresholds[kind])
        for key, kind in _THRESHOLD_KEYS.items()
    }
    return {
        **thresholds,
        "unlinked_identifiers": sorted(counter.unlinked),
        "dropped_identifiers": sorted(counter.dropped),
        "hold_processing": counter.hold_processing,
    }


def _apply(counter: CounterOffline, data: Mapping[str, object]) -> None:
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(unknown)}")
    thresholds = dict(counter.thresholds)
    for key, kind in _THRESHOLD_KEYS.items():
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} must be YYYY-MM-DD or null")
            thresholds[kind] = None if value is None else date.fromisoformat(value)
    unlinked = _identifiers(data, "unlinked_identifiers", counter.unlinked)
    dropped = _identifiers(data, "dropped_identifiers", counter.dropped)
    hold = data.get("hold_processing", counter.hold_processing)
    if not isinstance(hold, bool):
        raise ValueError("hold_processing must be a boolean")
    counter.thresholds, counter.unlinked, counter.hold_processing = thresholds, unlinked, hold
    counter.dropped = dropped


def _identifiers(data: Mapping[str, object], key: str, current: frozenset[str]) -> frozenset[str]:
    if key not in data:
        return current
    items = data[key]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"{key} must be a list of strings")
    return frozenset(items)


async def get_offline(request: web.Request) -> web.Response:
    """Show a counter's offline settings, stored conversions and calls, and uploadings (newest first).

    :param request: ``GET /_emulator/counters/{counter_id}/offline``.
    """
    counter = request.app[STATE_KEY].offline.counter(_counter_id(request))
    return web.json_response(
        {
            "settings": _settings_json(counter),
            "conversions": list(counter.conversions.values()),
            "calls": list(counter.calls),
            "uploadings": {
                kind: [uploading.to_control() for uploading in counter.newest_first(kind)]
                for kind in (KIND_CONVERSIONS, KIND_CALLS)
            },
        }
    )


async def set_offline(request: web.Request) -> web.Response:
    """Change a counter's offline settings; keys left out keep their values; all or none apply.

    :param request: ``POST /_emulator/counters/{counter_id}/offline`` with any of
        ``visit_join_threshold`` and ``calls_visit_join_threshold`` (``YYYY-MM-DD``: uploads before
        that day are refused; null: open), ``dropped_identifiers`` (rows with these identifiers are
        dropped as invalid, and counted), ``unlinked_identifiers`` (rows with these identifiers never
        link) and ``hold_processing`` (uploadings made while on stay ``UPLOADED`` until released).
    """
    counter = request.app[STATE_KEY].offline.counter(_counter_id(request))
    try:
        _apply(counter, await _json_object(request))
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc)) from exc
    return web.json_response({"settings": _settings_json(counter)})


def add_offline_control_routes(app: web.Application) -> None:
    """Register the offline part of the control API on ``app``.

    :param app: the emulator application.
    """
    path = f"{CONTROL_PREFIX}/counters/{{counter_id}}/offline"
    app.router.add_routes([web.get(path, get_offline), web.post(path, set_offline)])
