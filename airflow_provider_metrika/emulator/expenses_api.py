"""Handlers of the emulated expenses API (``/management/v1/counter/{id}/expense/...``) and its totals.

``POST .../upload?provider=&comment=`` (``provider`` defaults to ``default``), ``POST .../delete``
(without ``provider``: every provider's rows on the listed days), ``GET .../uploading/{id}``,
``GET .../uploadings?limit=&offset=``. The Reports API answers ``ym:ev:expenses<CUR>`` by
``ym:ev:date`` from :func:`expense_totals`.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiohttp import web

from airflow_provider_metrika.emulator.api import authorize, read_upload, stat_data
from airflow_provider_metrika.emulator.constants import (
    DEFAULT_EXPENSES_PROVIDER,
    DEFAULT_OFFLINE_LIST_LIMIT,
    EXPENSES_DELETE_PATH,
    EXPENSES_TYPE_DELETE,
    EXPENSES_TYPE_UPLOAD,
    EXPENSES_UPLOAD_PATH,
    EXPENSES_UPLOADING_PATH,
    EXPENSES_UPLOADINGS_PATH,
    MAX_COMMENT_LENGTH,
    TARGET_EXPENSES_DELETE,
    TARGET_EXPENSES_UPLOAD,
    TARGET_EXPENSES_UPLOADING,
    TARGET_EXPENSES_UPLOADINGS,
    UPLOAD_PART_NAME,
)
from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.expenses_files import FileRefused, read_expenses_file
from airflow_provider_metrika.emulator.keys import STATE_KEY

#: Letters (Latin, Cyrillic) and digits: what Metrika documents as allowed in ``comment``.
_COMMENT = re.compile(r"[0-9A-Za-zА-Яа-яЁё]*")
#: ``ym:ev:expensesRUB``, ``ym:ev:expensesUSD``, ...
EXPENSE_METRIC = re.compile(r"^ym:ev:expenses([A-Z]{3})$")
EXPENSE_DATE = "ym:ev:date"


def _text(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if len(value) > MAX_COMMENT_LENGTH:
        raise ApiError(
            400, "invalid_parameter", f"{name} is longer than {MAX_COMMENT_LENGTH} characters", name
        )
    if name == "comment" and not _COMMENT.fullmatch(value):
        raise ApiError(400, "invalid_parameter", "comment may hold only letters and digits", "comment")
    return value


async def _receive(request: web.Request, kind: str) -> web.Response:
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    comment = _text(request.query, "comment")
    provider = _text(request.query, "provider")
    if kind == EXPENSES_TYPE_UPLOAD:
        provider = provider or DEFAULT_EXPENSES_PROVIDER
    with tempfile.TemporaryDirectory(prefix="metrika-emulator-") as directory:
        body = await read_upload(request, Path(directory), state.settings.max_file_bytes)
        if body.file_path is None or body.file_part is None:
            missing = f"multipart part named {UPLOAD_PART_NAME!r} is missing"
            raise ApiError(400, "invalid_uploading", missing, UPLOAD_PART_NAME)
        if body.too_large:
            raise ApiError(400, "limit_exceeded", "File is too large", UPLOAD_PART_NAME)
        try:
            parsed = await asyncio.to_thread(
                read_expenses_file, body.file_path, delete=kind == EXPENSES_TYPE_DELETE
            )
        except FileRefused as exc:
            raise ApiError(400, "invalid_uploading", str(exc), UPLOAD_PART_NAME) from None
    details: dict[str, object] = {
        "file_name": body.file_part.filename or "",
        "file_sha256": body.file_part.sha256,
    }
    uploading = state.expenses.store(counter_id, kind, provider, comment, parsed, details)
    return web.json_response({"uploading": uploading.to_api()})


async def upload_expenses(request: web.Request) -> web.Response:
    """Accept an expenses CSV: ``POST .../expense/upload?provider=&comment=``.

    :param request: the upload.
    """
    return await _receive(request, EXPENSES_TYPE_UPLOAD)


async def delete_expenses(request: web.Request) -> web.Response:
    """Accept a delete CSV: ``POST .../expense/delete?provider=&comment=``; no provider: every provider's.

    :param request: the delete.
    """
    return await _receive(request, EXPENSES_TYPE_DELETE)


def _non_negative_int(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < low:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer of at least {low}", name)
    return int(text)


async def get_expenses_uploading(request: web.Request) -> web.Response:
    """Answer one expenses uploading: ``GET .../expense/uploading/{id}``; each read is a poll.

    :param request: the read.
    """
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    text = request.match_info["uploading_id"]
    found = state.expenses.find(counter_id, int(text)) if text.isdigit() else None
    if found is None:
        raise ApiError(404, "not_found", f"Uploading {text} not found", "id")
    return web.json_response(
        {"uploading": state.expenses.poll(counter_id, found, state.settings.status_delay)}
    )


async def list_expenses_uploadings(request: web.Request) -> web.Response:
    """List expenses uploadings newest first: ``GET .../expense/uploadings?limit=&offset=``.

    :param request: the read.
    """
    state = request.app[STATE_KEY]
    counter_id = authorize(request)
    limit = _non_negative_int(request.query, "limit", DEFAULT_OFFLINE_LIST_LIMIT, 1)
    offset = _non_negative_int(request.query, "offset", 0, 0)
    newest = list(reversed(state.expenses.counter(counter_id).uploadings))[offset : offset + limit]
    delay = state.settings.status_delay
    return web.json_response({"uploadings": [state.expenses.poll(counter_id, u, delay) for u in newest]})


def is_expense_query(metrics: str) -> bool:
    """Return whether a Reports API ``metrics`` value asks for expenses.

    :param metrics: the comma-separated metrics.
    """
    return any(EXPENSE_METRIC.match(metric) for metric in metrics.split(","))


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} {text!r} is not YYYY-MM-DD", name) from None


async def expense_totals(request: web.Request, counter_id: int) -> web.Response:
    """Answer ``ym:ev:expenses<CUR>`` per day (``dimensions=ym:ev:date``) or in total, for one counter.

    :param request: ``GET /stat/v1/data?ids=&metrics=ym:ev:expensesRUB&dimensions=ym:ev:date&date1=&date2=``.
    :param counter_id: the counter of ``ids``.
    """
    query = request.query
    metrics = query.get("metrics", "").split(",")
    currencies = [EXPENSE_METRIC.match(metric) for metric in metrics]
    if not all(currencies):
        raise ApiError(
            400, "invalid_parameter", "the emulator answers ym:ev:expenses<CUR> metrics only", "metrics"
        )
    dimensions = [d for d in query.get("dimensions", "").split(",") if d]
    if dimensions not in ([], [EXPENSE_DATE]):
        raise ApiError(
            400, "invalid_parameter", f"the emulator answers {EXPENSE_DATE} or no dimension", "dimensions"
        )
    today = datetime.now(UTC).date()
    first = _day(query.get("date1", (today - timedelta(days=6)).isoformat()), "date1")
    last = _day(query.get("date2", today.isoformat()), "date2")
    if first > last:
        raise ApiError(400, "invalid_parameter", f"date1 {first} is after date2 {last}", "date1")
    counter = request.app[STATE_KEY].expenses.counter(counter_id)
    per_currency = [counter.totals(first, last, match.group(1)) for match in currencies if match]
    days = sorted({day for totals in per_currency for day in totals})
    if dimensions:
        data = [
            {
                "dimensions": [{"name": day.isoformat()}],
                "metrics": [float(t.get(day, 0)) for t in per_currency],
            }
            for day in days
        ]
    else:
        data = [{"dimensions": [], "metrics": [float(sum(t.values())) for t in per_currency]}]
    totals = [float(sum(t.values())) for t in per_currency]
    return web.json_response(
        {
            "query": {
                "ids": [counter_id],
                "metrics": metrics,
                "dimensions": dimensions,
                "date1": first.isoformat(),
                "date2": last.isoformat(),
            },
            "data": data,
            "total_rows": len(data),
            "sampled": False,
            "sample_share": 1.0,
            "data_lag": 0,
            "totals": totals,
        }
    )


async def stat_data_with_expenses(request: web.Request) -> web.Response:
    """Answer the Reports API: expense metrics here, every other query as :func:`.api.stat_data` does.

    :param request: ``GET /stat/v1/data?ids=<counter>&metrics=...``; needs ``metrika:read``.
    """
    if not is_expense_query(request.query.get("metrics", "")):
        return await stat_data(request)
    ids = [item for item in request.query.get("ids", "").split(",") if item]
    if len(ids) != 1:
        raise ApiError(400, "invalid_parameter", "the emulator answers exactly one counter in ids", "ids")
    return await expense_totals(request, authorize(request, ids[0]))


def add_expenses_routes(app: web.Application) -> None:
    """Register the expenses API on ``app``; route names double as fault targets.

    :param app: the emulator application.
    """
    routes = (
        ("POST", EXPENSES_UPLOAD_PATH, upload_expenses, TARGET_EXPENSES_UPLOAD),
        ("POST", EXPENSES_DELETE_PATH, delete_expenses, TARGET_EXPENSES_DELETE),
        ("GET", EXPENSES_UPLOADING_PATH, get_expenses_uploading, TARGET_EXPENSES_UPLOADING),
        ("GET", EXPENSES_UPLOADINGS_PATH, list_expenses_uploadings, TARGET_EXPENSES_UPLOADINGS),
    )
    for method, path, handler, name in routes:
        app.router.add_route(method, path, handler, name=name)
