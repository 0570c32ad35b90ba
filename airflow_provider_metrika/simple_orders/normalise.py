"""Normalise one batch: every known column through its normaliser, then the row-level identifier check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import IDENTIFIER_COLUMNS
from airflow_provider_metrika.simple_orders.control_chars import REASON_CONTROL, control_rows
from airflow_provider_metrika.simple_orders.dates import normalise_dates
from airflow_provider_metrika.simple_orders.goals import normalise_goals
from airflow_provider_metrika.simple_orders.identifiers import (
    normalise_client_ids,
    normalise_emails,
    normalise_md5,
    normalise_phones,
)
from airflow_provider_metrika.simple_orders.money import normalise_amounts, normalise_currency
from airflow_provider_metrika.simple_orders.options import PrepareOptions
from airflow_provider_metrika.simple_orders.problems import ROW_COLUMN, BatchProblems
from airflow_provider_metrika.simple_orders.statuses import normalise_statuses
from airflow_provider_metrika.simple_orders.text import MultiValues, to_text

REASON_NO_IDENTIFIER = "has no identifier: fill at least one of " + ", ".join(IDENTIFIER_COLUMNS)


@dataclass
class NormalisedBatch:
    """Normalised columns of one batch, all rows kept (rows with problems hold ``""`` or invalid values).

    :param text: single-value columns as text, ``""`` when empty.
    :param multi: multi-value columns as flattened values.
    """

    text: dict[str, pa.Array] = field(default_factory=dict)
    multi: dict[str, MultiValues] = field(default_factory=dict)


def _multi(column: str, array: pa.Array, options: PrepareOptions, problems: BatchProblems) -> MultiValues:
    if column == "emails":
        return normalise_emails(array, problems)
    if column == "phones":
        return normalise_phones(array, problems, options.rewrite_leading_8)
    if column == "client_ids":
        return normalise_client_ids(array, problems)
    return normalise_md5(array, problems, column)


def per_distinct(
    array: pa.Array,
    column: str,
    normalise: Callable[[pa.Array, BatchProblems], pa.Array],
    problems: BatchProblems,
) -> pa.Array:
    """Normalise each distinct value once: statuses, currencies and goals repeat a handful of values.

    :param array: the column.
    :param column: Metrika column name.
    :param normalise: the column's normaliser, applied to the distinct values.
    :param problems: where the problems of the rows holding a bad value are recorded.
    """
    encoded = pc.dictionary_encode(to_text(array, column))
    indices = encoded.indices.to_numpy()
    distinct = BatchProblems(len(encoded.dictionary))
    normalised = normalise(encoded.dictionary, distinct)
    for name, reason, flags in distinct.entries:
        problems.add(name, reason, flags[indices])
    return normalised.take(encoded.indices)


def _text(column: str, array: pa.Array, options: PrepareOptions, problems: BatchProblems) -> pa.Array:
    if column == "create_date_time":
        return normalise_dates(
            array,
            options.timezone,
            problems,
            source_timezone=options.naive_timezone,
            latest=options.latest_date_time,
        )
    if column in ("revenue", "cost"):
        return normalise_amounts(array, column, problems, options.decimal or ".")
    if column == "order_status":
        return per_distinct(
            array, column, partial(normalise_statuses, status_map=options.status_map), problems
        )
    if column == "currency":
        return per_distinct(array, column, normalise_currency, problems)
    if column == "goals":
        goals = partial(normalise_goals, decimal=options.decimal or ".")
        if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
            return goals(array, problems)
        return per_distinct(array, column, goals, problems)
    return to_text(array, column)  # id and client_uniq_id are kept exactly as given


def normalise_batch(
    columns: Mapping[str, pa.Array], options: PrepareOptions, problems: BatchProblems
) -> NormalisedBatch:
    """Normalise every column of a batch and record problems, including rows without any identifier.

    :param columns: Metrika column name -> input array, in the documented order.
    :param options: the run's options.
    :param problems: where problems are recorded.
    """
    result = NormalisedBatch()
    for column, array in columns.items():
        controls = control_rows(array)
        if controls is not None:
            problems.add(column, REASON_CONTROL, controls)
        if column in IDENTIFIER_COLUMNS:
            result.multi[column] = _multi(column, array, options, problems)
        else:
            result.text[column] = _text(column, array, options, problems)
    identified = np.zeros(problems.rows, dtype=bool)
    for values in result.multi.values():
        identified[values.parents] = True
    problems.add(ROW_COLUMN, REASON_NO_IDENTIFIER, ~identified)
    return result
