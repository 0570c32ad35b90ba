"""Normalise ``goals``: ``goal_id[:price]`` values, comma-joined."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import split_values

GOAL_PATTERN = r"^[A-Za-z0-9_]+(?::[0-9]+(?:\.[0-9]+)?)?$"
REASON_GOALS = (
    "is not a goals list (goal_id or goal_id:price, comma-separated; goal ids of letters, digits and _, "
    "prices non-negative with . as the decimal point)"
)


def _plain_prices(values: pa.Array) -> pa.Array:
    """Drop zeros that do not change a price: ``goal:0200.50`` -> ``goal:200.5``."""
    values = pc.replace_substring_regex(values, r":0+([0-9])", r":\1")
    values = pc.replace_substring_regex(values, r"(\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(values, r"\.$", "")


def normalise_goals(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return each row's goals comma-joined without spaces; record rows with a malformed goal.

    :param array: the ``goals`` column: text or list cells.
    :param problems: where to record invalid goals.
    """
    values = split_values(array, "goals")
    bad = pc.invert(pc.match_substring_regex(values.values, GOAL_PATTERN)).to_numpy(zero_copy_only=False)
    problems.add("goals", REASON_GOALS, values.row_mask(bad))
    return values.join(_plain_prices(values.values))
