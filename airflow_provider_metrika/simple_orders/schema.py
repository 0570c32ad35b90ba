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
from airflow_provider_metrika.simple_orders.synonyms import competing_names, suggest_renames


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


def _unknown_error(unknown: list[str], present: list[str]) -> OrdersInputError:
    """Suggest renames only for columns that clearly are Metrika's; never invent a mapping for the rest."""
    allowed = ", ".join(SIMPLE_ORDERS_COLUMNS)
    renames = suggest_renames(unknown, present)
    competing = competing_names(unknown, present)
    unclear = {name for names in competing.values() for name in names}
    rest = [name for name in unknown if name not in renames and name not in unclear]
    lines = [f"unknown columns: {', '.join(unknown)}. Metrika's simplified orders file has only: {allowed}."]
    if renames:
        shown = "{" + ", ".join(f"{name!r}: {column!r}" for name, column in renames.items()) + "}"
        lines.append(f"These look like Metrika columns under another name: pass columns={shown}.")
    for column, names in competing.items():
        lines.append(
            f"{', '.join(names)} all look like {column}: keep the one that holds it, e.g. "
            f"columns={{{names[0]!r}: {column!r}}}, and drop the others."
        )
    if rest:
        lines.append(
            f"{', '.join(rest)}: no Metrika column; rename one yourself only if it holds a column above, "
            'or pass unknown_columns="drop" to leave them out.'
        )
    else:
        lines.append('Or pass unknown_columns="drop" to leave them out.')
    return OrdersInputError("\n".join(lines))


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
        raise _unknown_error(
            unknown, [target for target in targets.values() if target in SIMPLE_ORDERS_COLUMNS]
        )
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
