"""Which OAuth scopes each emulated endpoint needs: one table line per endpoint.

Yandex's docs: ``metrika:read`` reads counter settings, ``metrika:offline_data`` uploads offline data
(CRM, offline conversions, calls), ``metrika:write`` changes counters and uploads any data. Which scope
``last_uploadings`` needs is not documented, so it is a setting (``last_uploadings_needs_read``).
A token without any granted scope for an endpoint is answered 403 ``access_denied``, as Metrika does,
with Metrika's bare "Access is denied" that names no cause.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_provider_metrika.emulator.constants import (
    CALLS_THRESHOLD_PATH,
    CALLS_UPLOAD_PATH,
    CALLS_UPLOADING_PATH,
    CALLS_UPLOADINGS_PATH,
    CONVERSIONS_THRESHOLD_PATH,
    CONVERSIONS_UPLOAD_PATH,
    CONVERSIONS_UPLOADING_PATH,
    CONVERSIONS_UPLOADINGS_PATH,
    COUNTER_PATH,
    COUNTERS_PATH,
    EXPENSES_DELETE_PATH,
    EXPENSES_UPLOAD_PATH,
    EXPENSES_UPLOADING_PATH,
    EXPENSES_UPLOADINGS_PATH,
    GOALS_PATH,
    LAST_UPLOADINGS_PATH,
    REPORTS_PATH,
    UPLOAD_PATH,
)

READ = "metrika:read"
WRITE = "metrika:write"
OFFLINE_DATA = "metrika:offline_data"
EXPENSES = "metrika:expenses"
#: Every Metrika scope a token may be issued with.
KNOWN_SCOPES = (READ, WRITE, OFFLINE_DATA, EXPENSES, "metrika:user_params")
ALL_SCOPES = frozenset(KNOWN_SCOPES)

#: (method, route path) -> the scopes any one of which allows the call. A route missing here needs none.
#: To cover a new endpoint, add its line.
SCOPE_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", UPLOAD_PATH): frozenset({OFFLINE_DATA, WRITE}),
    ("GET", COUNTER_PATH): frozenset({READ}),
    ("GET", COUNTERS_PATH): frozenset({READ}),
    ("GET", GOALS_PATH): frozenset({READ}),
    ("GET", REPORTS_PATH): frozenset({READ}),
    # Unconfirmed: by default any Metrika data scope lists uploadings; see last_uploadings_needs_read.
    ("GET", LAST_UPLOADINGS_PATH): frozenset({READ, OFFLINE_DATA, WRITE}),
    ("POST", CONVERSIONS_UPLOAD_PATH): frozenset({OFFLINE_DATA, WRITE}),
    ("GET", CONVERSIONS_UPLOADING_PATH): frozenset({READ}),
    ("GET", CONVERSIONS_UPLOADINGS_PATH): frozenset({READ}),
    ("GET", CONVERSIONS_THRESHOLD_PATH): frozenset({READ}),
    ("POST", CALLS_UPLOAD_PATH): frozenset({OFFLINE_DATA, WRITE}),
    ("GET", CALLS_UPLOADING_PATH): frozenset({READ}),
    ("GET", CALLS_UPLOADINGS_PATH): frozenset({READ}),
    ("GET", CALLS_THRESHOLD_PATH): frozenset({READ}),
    ("POST", EXPENSES_UPLOAD_PATH): frozenset({EXPENSES, WRITE}),
    ("POST", EXPENSES_DELETE_PATH): frozenset({EXPENSES, WRITE}),
    ("GET", EXPENSES_UPLOADING_PATH): frozenset({READ}),
    ("GET", EXPENSES_UPLOADINGS_PATH): frozenset({READ}),
}
#: What ``last_uploadings`` needs when the emulator is told that it needs ``metrika:read``.
LAST_UPLOADINGS_READ_RULE = frozenset({READ})


def parse_scopes(scopes: Iterable[object]) -> frozenset[str]:
    """Return known scope names as a set, or raise ValueError naming an unknown one.

    :param scopes: names such as ``metrika:offline_data``.
    """
    parsed = set()
    for scope in scopes:
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known scopes: {', '.join(KNOWN_SCOPES)}")
        parsed.add(str(scope))
    return frozenset(parsed)


def scopes_needed(method: str, route_path: str, last_uploadings_needs_read: bool) -> frozenset[str]:
    """Return the scopes any one of which allows a call; empty when the call needs none.

    :param method: the HTTP method.
    :param route_path: the route's pattern, e.g. ``/management/v1/counter/{counter_id}``.
    :param last_uploadings_needs_read: whether ``last_uploadings`` needs ``metrika:read`` alone.
    """
    if last_uploadings_needs_read and (method, route_path) == ("GET", LAST_UPLOADINGS_PATH):
        return LAST_UPLOADINGS_READ_RULE
    return SCOPE_RULES.get((method, route_path), frozenset())
