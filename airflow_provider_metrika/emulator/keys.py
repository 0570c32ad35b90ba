"""Where the emulator keeps its state on the application and the current request's log entry."""

from __future__ import annotations

from contextvars import ContextVar

from aiohttp import web

from airflow_provider_metrika.emulator.state import EmulatorState

STATE_KEY = web.AppKey("metrika_emulator_state", EmulatorState)
#: The request-log entry of the request being handled, so handlers can add the multipart parts they
#: read. aiohttp runs each request in its own task, so the value never leaks between requests.
CURRENT_LOG_ENTRY: ContextVar[dict[str, object] | None] = ContextVar(
    "metrika_emulator_log_entry", default=None
)
#: Request key of an injected validation outcome (a fault's ``validation``), read by the upload handler.
FORCED_VALIDATION_KEY = "metrika_emulator_forced_validation"
