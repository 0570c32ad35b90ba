"""The Reports API table call, ``GET /stat/v1/data``, for the linked-orders metrics only.

Query: ``ids`` (one counter), ``metrics`` (the ``ym:s:cdpOrders*`` counts of
:mod:`~airflow_provider_metrika.emulator.linking`), ``dimensions`` (empty or ``ym:s:date``),
``date1`` / ``date2`` (``YYYY-MM-DD``, ``today``, ``yesterday``, ``NdaysAgo``; defaults
``6daysAgo`` / ``today`` in the counter's time zone), ``limit`` (1..100000, default 100), ``offset``
(1-based), ``accuracy`` and ``timezone`` (accepted, no effect). ``filters`` is refused: it is not
modelled. The answer has Metrika's shape: ``query``, ``data[].dimensions[].name``,
``data[].metrics`` (floats, in the order asked), ``totals``, ``total_rows``, ``sampled``,
``sample_share``, ``data_lag``. Days listed are those of the window with a seeded visit or a
linked order, ascending.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from airflow_provider_metrika.emulator.errors import ApiError
from airflow_provider_metrika.emulator.keys import STATE_KEY
from airflow_provider_metrika.emulator.linking import LINKED_METRICS, linked_by_day

DATE_DIMENSION = "ym:s:date"
DEFAULT_LIMIT = 100
MAX_LIMIT = 100_000
_DAYS_AGO = re.compile(r"(\d+)daysAgo")


def _day(text: str, today: date, name: str) -> date:
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if match := _DAYS_AGO.fullmatch(text):
        return today - timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"{name} {text!r} is not YYYY-MM-DD, today, yesterday or NdaysAgo", name
        ) from None


def _positive(query: Mapping[str, str], name: str, default: int, most: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer from 1 to {most}", name)
    return int(text)


def _metrics(query: Mapping[str, str]) -> list[str]:
    metrics = [m for m in query.get("metrics", "").split(",") if m]
    if not metrics:
        raise ApiError(400, "missing_parameter", "Required parameter metrics is missing", "metrics")
    unknown = [m for m in metrics if m not in LINKED_METRICS]
    if unknown:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Unknown metrics {', '.join(unknown)} (the emulator answers {', '.join(LINKED_METRICS)})",
            "metrics",
        )
    return metrics


def _dimensions(query: Mapping[str, str]) -> list[str]:
    dimensions = [d for d in query.get("dimensions", "").split(",") if d]
    if any(d != DATE_DIMENSION for d in dimensions) or len(dimensions) > 1:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Unsupported dimensions {','.join(dimensions)} (the emulator answers {DATE_DIMENSION} or none)",
            "dimensions",
        )
    return dimensions


def _row(counts: Counter[str], metrics: list[str]) -> list[float]:
    return [float(counts.get(metric, 0)) for metric in metrics]


async def stat_data(request: web.Request, counter_id: int) -> web.Response:
    """Answer the linked-orders table of one counter.

    :param request: ``GET /stat/v1/data?ids=...&metrics=...``; authorised by the caller.
    :param counter_id: the counter of ``ids``.
    """
    state = request.app[STATE_KEY]
    query = request.query
    if "filters" in query:
        raise ApiError(400, "invalid_parameter", "filters are not modelled by the emulator", "filters")
    metrics, dimensions = _metrics(query), _dimensions(query)
    zone = zoneinfo.ZoneInfo(state.settings.counters[counter_id])
    today = datetime.now(UTC).astimezone(zone).date()
    date1 = _day(query.get("date1", "6daysAgo"), today, "date1")
    date2 = _day(query.get("date2", "today"), today, "date2")
    if date1 > date2:
        raise ApiError(400, "invalid_parameter", f"date1 {date1} is after date2 {date2}", "date1")
    limit = _positive(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _positive(query, "offset", 1, 2**31 - 1)
    with state.lock:
        store = state.order_store(counter_id)
        orders = [*store.orders.values(), *store.orders_without_id]
        visits = state.visits(counter_id)
        linked = linked_by_day(orders, visits)
    in_window = {d: c for d, c in linked.items() if date1 <= d <= date2}
    totals: Counter[str] = sum(in_window.values(), Counter())
    if dimensions:
        empty: Counter[str] = Counter()
        days = sorted(set(in_window) | {v.time.date() for v in visits if date1 <= v.time.date() <= date2})
        rows = [
            {"dimensions": [{"name": day.isoformat()}], "metrics": _row(in_window.get(day, empty), metrics)}
            for day in days
        ]
    else:
        rows = [{"dimensions": [], "metrics": _row(totals, metrics)}]
    return web.json_response(
        {
            "query": {
                "ids": [counter_id],
                "dimensions": dimensions,
                "metrics": metrics,
                "sort": list(dimensions),
                "date1": date1.isoformat(),
                "date2": date2.isoformat(),
                "limit": limit,
                "offset": offset,
                "group": "Week",
                "auto_group_size": "1",
                "attr_name": "",
                "quantile": "50",
                "offline_window": "21",
                "attribution": "LastSign",
                "currency": "RUB",
                "adfox_event_id": "0",
            },
            "data": rows[offset - 1 : offset - 1 + limit],
            "total_rows": len(rows),
            "total_rows_rounded": False,
            "sampled": False,
            "contains_sensitive_data": False,
            "sample_share": 1.0,
            "sample_size": len(visits),
            "sample_space": len(visits),
            "data_lag": 0,
            "totals": _row(totals, metrics),
            "min": [0.0] * len(metrics),
            "max": [max((c.get(m, 0) for c in in_window.values()), default=0.0) * 1.0 for m in metrics],
        }
    )
