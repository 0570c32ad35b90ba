"""The control API of expenses: what a counter stores, its uploadings, and its test settings."""

from __future__ import annotations

from aiohttp import web

from airflow_provider_metrika.emulator.constants import CONTROL_PREFIX
from airflow_provider_metrika.emulator.control import _counter_id, _json_object
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.expenses_state import CounterExpenses
from airflow_provider_metrika.emulator.keys import STATE_KEY

_KEYS = ("hold_processing", "end_to_end_analytics")


def _settings_json(counter: CounterExpenses) -> dict[str, object]:
    return {"hold_processing": counter.hold_processing, "end_to_end_analytics": counter.end_to_end_analytics}


def _row_json(row: dict[str, object]) -> dict[str, object]:
    return {key: str(value) if key in ("Date", "Expenses") else value for key, value in row.items()}


async def get_expenses(request: web.Request) -> web.Response:
    """Show a counter's expense settings, processed rows (one per provider, day and key), and uploadings.

    :param request: ``GET /_emulator/counters/{counter_id}/expenses``.
    """
    counter = request.app[STATE_KEY].expenses.counter(_counter_id(request))
    return web.json_response(
        {
            "settings": _settings_json(counter),
            "rows": [_row_json(row) for row in counter.rows],
            "uploadings": [uploading.to_control() for uploading in reversed(counter.uploadings)],
        }
    )


async def set_expenses(request: web.Request) -> web.Response:
    """Change a counter's expense settings; keys left out keep their values.

    :param request: ``POST /_emulator/counters/{counter_id}/expenses`` with any of ``hold_processing``
        (uploadings made while on stay ``UPLOADED`` until released) and ``end_to_end_analytics``
        (off: the Reports API reads zero expenses).
    """
    counter = request.app[STATE_KEY].expenses.counter(_counter_id(request))
    data = await _json_object(request)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ApiError(400, "invalid_parameter", f"unknown settings: {', '.join(unknown)}")
    if not all(isinstance(data[key], bool) for key in data):
        raise ApiError(400, "invalid_parameter", f"{' and '.join(_KEYS)} must be booleans")
    counter.hold_processing = bool(data.get("hold_processing", counter.hold_processing))
    counter.end_to_end_analytics = bool(data.get("end_to_end_analytics", counter.end_to_end_analytics))
    return web.json_response({"settings": _settings_json(counter)})


def add_expenses_control_routes(app: web.Application) -> None:
    """Register the expenses part of the control API on ``app``.

    :param app: the emulator application.
    """
    path = f"{CONTROL_PREFIX}/counters/{{counter_id}}/expenses"
    app.router.add_routes([web.get(path, get_expenses), web.post(path, set_expenses)])
