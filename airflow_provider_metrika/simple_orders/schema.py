"""Decide which input columns become which Metrika columns, and which columns the parts will have."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_metrika.simple_orders.columns import (
    HASHED_COLUMNS,
    IDENTIFIER_COLUMNS,
    REQUIRED_COLUMN,
    SIMPLE_ORDERS_COLUMNS,
)
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.options import PrepareOptions


@dataclass(frozen=True)
class ColumnPlan:
    """How input columns map to Metrika columns.

    :param sources: Metrika column -> input column, in the documented order.
    :param dropped: input columns that are not written (``unknown_columns="drop"``).
    :param output: the header of the parts, in the documented order.
    """

    sources: dict[str, str]
    dropped: list[str]
    output: list[str]


def _unknown_error(unknown: list[str]) -> OrdersInputError:
    allowed = ", ".join(SIMPLE_ORDERS_COLUMNS)
    hints = [
        f"{name!r}: {name.strip().lower()!r}"
        for name in unknown
        if name.strip().lower() in SIMPLE_ORDERS_COLUMNS
    ]
    example = "{" + (", ".join(hints) if hints else f"{unknown[0]!r}: 'client_uniq_id'") + "}"
    return OrdersInputError(
        f"unknown columns: {', '.join(unknown)}. Metrika's simplified orders file has only: {allowed}. "
        f'Rename them with columns={example}, or pass unknown_columns="drop" to leave them out'
    )


def _targets(names: list[str], options: PrepareOptions) -> dict[str, str]:
    """Return input column -> target name, after checking that renames refer to real, distinct columns."""
    missing = [name for name in options.columns if name not in names]
    if missing:
        raise OrdersInputError(
            f"columns= renames {', '.join(missing)}, but the input has no such column: {names}"
        )
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise OrdersInputError(f"the input has repeated column names: {', '.join(repeated)}")
    targets = {name: options.columns.get(name, name) for name in names}
    seen: dict[str, str] = {}
    for name, target in targets.items():
        if target in seen and target in SIMPLE_ORDERS_COLUMNS:
            raise OrdersInputError(
                f"input columns {seen[target]!r} and {name!r} would both become {target!r}"
            )
        seen[target] = name
    return targets


def _output_columns(present: list[str], hash_identifiers: bool) -> list[str]:
    if not hash_identifiers:
        return present
    written = {HASHED_COLUMNS.get(column, column) for column in present}
    return [column for column in SIMPLE_ORDERS_COLUMNS if column in written]


def plan_columns(names: list[str], options: PrepareOptions) -> ColumnPlan:
    """Check the input's columns and return the plan; raise OrdersInputError listing every problem found.

    :param names: input column names.
    :param options: the run's options (renames, unknown column handling, hashing).
    """
    targets = _targets(names, options)
    unknown = [name for name, target in targets.items() if target not in SIMPLE_ORDERS_COLUMNS]
    if unknown and options.unknown_columns == "error":
        raise _unknown_error(unknown)
    by_target = {target: name for name, target in targets.items() if target in SIMPLE_ORDERS_COLUMNS}
    if REQUIRED_COLUMN not in by_target:
        raise OrdersInputError(
            f"the required column {REQUIRED_COLUMN} is missing "
            f"(input columns: {', '.join(names) or 'none'}); "
            f"if it has another name, pass columns={{'<name>': '{REQUIRED_COLUMN}'}}"
        )
    if not any(column in by_target for column in IDENTIFIER_COLUMNS):
        raise OrdersInputError(
            f"no identifier column: the input needs at least one of {', '.join(IDENTIFIER_COLUMNS)} "
            f"(input columns: {', '.join(names)})"
        )
    sources = {column: by_target[column] for column in SIMPLE_ORDERS_COLUMNS if column in by_target}
    return ColumnPlan(sources, unknown, _output_columns(list(sources), options.hash_identifiers))
