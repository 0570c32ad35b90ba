"""Normalise ``order_status``: a known status in its documented spelling, or a goal id kept as is."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import STATUS_ALIASES
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import to_text

GOAL_ID_PATTERN = r"^[A-Za-z0-9_]+$"
REASON_STATUS = (
    "is not an order status (PAID, IN_PROGRESS, CANCELLED, SPAM) or a goal id (letters, digits, _)"
)


def _lookup(text: pa.Array, keys: list[str], values: list[str]) -> pa.Array:
    """Return the value of each element's key, null where the element is not a key."""
    index = pc.index_in(text, value_set=pa.array(keys, pa.string()))
    return pc.take(pa.array(values, pa.string()), index)


def apply_status_map(text: pa.Array, status_map: Mapping[str, str]) -> pa.Array:
    """Map CRM statuses: keys matched exactly first, then case-insensitively; others unchanged.

    :param text: trimmed statuses.
    :param status_map: CRM status -> Metrika status or goal id.
    """
    if not status_map:
        return text
    exact = _lookup(text, list(status_map), list(status_map.values()))
    folded: dict[str, str] = {}
    for key, value in status_map.items():
        folded.setdefault(key.lower(), value)  # an exact-case key wins; among the rest, the first one
    caseless = _lookup(pc.utf8_lower(text), list(folded), list(folded.values()))
    return pc.coalesce(exact, caseless, text)


def normalise_statuses(array: pa.Array, problems: BatchProblems, status_map: Mapping[str, str]) -> pa.Array:
    """Return statuses in Metrika's spelling (any case, CANCELED accepted), goal ids as is, ``""`` when empty.

    :param array: the ``order_status`` column.
    :param problems: where to record values that are neither a status nor a goal id.
    :param status_map: CRM status -> Metrika status, applied before validation.
    """
    text = pc.utf8_trim_whitespace(to_text(array, "order_status"))
    text = pc.utf8_trim_whitespace(apply_status_map(text, status_map))
    known = _lookup(pc.utf8_upper(text), list(STATUS_ALIASES), list(STATUS_ALIASES.values()))
    goal = pc.match_substring_regex(text, GOAL_ID_PATTERN)
    empty = pc.equal(text, "")
    valid = pc.or_(pc.or_(known.is_valid(), goal), empty)
    problems.add("order_status", REASON_STATUS, pc.invert(valid))
    return pc.if_else(valid, pc.coalesce(known, text), "")
