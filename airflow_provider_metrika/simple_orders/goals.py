"""Normalise ``goals``: ``goal_id[:price]`` values, comma-joined."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import split_values

GOAL_PATTERN = r"^[A-Za-z0-9_]+(?::[0-9]+(?:\.[0-9]+)?)?$"
REASON_GOALS = (
    "is not a goals list (goal_id or goal_id:price, comma-separated; goal ids of letters, digits and _, "
    "prices non-negative with . as the decimal point)"
)
#: Where the comma is the decimal separator, ``oplata:4590,50`` reads two ways: a price of 4590.50, or a
#: price of 4590 and a goal named ``50`` (the comma also separates goals). Digits after a comma are a
#: goal's own only when a space or a price of their own follows the comma (``4590, 50``, ``4590,50:10``).
AMBIGUOUS_COMMA_PATTERN = r":[0-9]+,[0-9]+[\s\pZ]*(?:,|$)"
#: A price with a dot and exactly three digits after it (``oplata:1.234``): a thousands group where the
#: comma is the decimal separator (1234), a decimal point elsewhere (1.234); as for revenue.
AMBIGUOUS_DOT_PATTERN = r":[1-9][0-9]{0,2}\.[0-9]{3}$"
#: One goal with a decimal-comma price, as a list cell holds it (no list comma can be inside).
_COMMA_PRICE = (r"^([A-Za-z0-9_]+:[0-9]+),([0-9]+)$", r"\1.\2")
REASON_AMBIGUOUS_COMMA = (
    "holds a price followed by a comma and digits (oplata:4590,50), which reads two ways where the comma "
    "is the decimal separator: a price of 4590.50, or a price of 4590 and a goal named 50. Write the "
    "price with a dot (oplata:4590.50), or, if 50 is a goal, put a space after the comma (oplata:4590, 50)"
)
REASON_AMBIGUOUS_DOT = (
    "holds a price with a dot followed by exactly three digits (oplata:1.234), which is 1234 where the "
    "comma is the decimal separator and 1.234 elsewhere: write oplata:1234 if the dot groups thousands, "
    'or pass decimal="." if every dot in the file is a decimal point'
)


def _plain_prices(values: pa.Array) -> pa.Array:
    """Drop zeros that do not change a price: ``goal:0200.50`` -> ``goal:200.5``."""
    values = pc.replace_substring_regex(values, r":0+([0-9])", r":\1")
    values = pc.replace_substring_regex(values, r"(\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(values, r"\.$", "")


def _ambiguous_commas(array: pa.Array, problems: BatchProblems) -> None:
    """Refuse text cells where a comma after a price may be a decimal comma or the list separator."""
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        return  # each goal is its own list item: a comma inside one is a decimal comma
    text = array.cast(pa.string()).fill_null("")
    problems.add("goals", REASON_AMBIGUOUS_COMMA, pc.match_substring_regex(text, AMBIGUOUS_COMMA_PATTERN))


def normalise_goals(array: pa.Array, problems: BatchProblems, decimal: str = ".") -> pa.Array:
    """Return each row's goals comma-joined without spaces; record rows with a malformed goal.

    :param array: the ``goals`` column: text or list cells.
    :param problems: where to record invalid goals.
    :param decimal: the decimal separator of ``revenue`` and ``cost`` (``.``, ``,`` or ``either``):
        with a comma, goal prices are read with it too, and prices that read two ways are refused.
    """
    comma = decimal != "."
    if comma:
        _ambiguous_commas(array, problems)
    values = split_values(array, "goals")
    prices = pc.replace_substring_regex(values.values, *_COMMA_PRICE) if comma else values.values
    ambiguous = np.zeros(len(prices), dtype=bool)
    if comma:
        ambiguous = pc.match_substring_regex(prices, AMBIGUOUS_DOT_PATTERN).to_numpy(zero_copy_only=False)
        problems.add("goals", REASON_AMBIGUOUS_DOT, values.row_mask(ambiguous))
    bad = pc.invert(pc.match_substring_regex(prices, GOAL_PATTERN)).to_numpy(zero_copy_only=False)
    problems.add("goals", REASON_GOALS, values.row_mask(bad & ~ambiguous))
    return values.join(_plain_prices(prices))
