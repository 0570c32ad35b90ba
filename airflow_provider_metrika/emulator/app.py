"""Assemble the emulator's aiohttp application."""

from __future__ import annotations

from aiohttp import web

from airflow_provider_metrika.emulator.api import (
    get_counter,
    get_goals,
    last_uploadings,
    list_counters,
    upload_simple_orders,
)
from airflow_provider_metrika.emulator.constants import (
    COUNTER_PATH,
    COUNTERS_PATH,
    GOALS_PATH,
    LAST_UPLOADINGS_PATH,
    REPORTS_PATH,
    TARGET_COUNTER,
    TARGET_COUNTERS,
    TARGET_GOALS,
    TARGET_LAST_UPLOADINGS,
    TARGET_REPORTS,
    TARGET_UPLOAD,
    UPLOAD_PATH,
)
from airflow_provider_metrika.emulator.control import add_control_routes
from airflow_provider_metrika.emulator.expenses_api import add_expenses_routes, stat_data_with_expenses
from airflow_provider_metrika.emulator.expenses_control import add_expenses_control_routes
from airflow_provider_metrika.emulator.keys import STATE_KEY
from airflow_provider_metrika.emulator.middleware import api_middleware
from airflow_provider_metrika.emulator.offline_api import add_offline_routes
from airflow_provider_metrika.emulator.offline_control import add_offline_control_routes
from airflow_provider_metrika.emulator.state import EmulatorSettings, EmulatorState


def create_app(settings: EmulatorSettings | None = None) -> web.Application:
    """Build the application: the emulated Metrika API plus the ``/_emulator`` control API.

    :param settings: tokens, counters and pacing; the defaults when omitted.
    """
    app = web.Application(middlewares=[api_middleware])
    app[STATE_KEY] = EmulatorState(settings or EmulatorSettings())
    # Route names double as fault targets.
    app.router.add_post(UPLOAD_PATH, upload_simple_orders, name=TARGET_UPLOAD)
    app.router.add_get(LAST_UPLOADINGS_PATH, last_uploadings, name=TARGET_LAST_UPLOADINGS)
    app.router.add_get(COUNTER_PATH, get_counter, name=TARGET_COUNTER)
    app.router.add_get(COUNTERS_PATH, list_counters, name=TARGET_COUNTERS)
    app.router.add_get(GOALS_PATH, get_goals, name=TARGET_GOALS)
    app.router.add_get(REPORTS_PATH, stat_data_with_expenses, name=TARGET_REPORTS)
    add_offline_routes(app)
    add_expenses_routes(app)
    add_control_routes(app)
    add_offline_control_routes(app)
    add_expenses_control_routes(app)
    return app
