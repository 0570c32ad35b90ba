"""Map input columns to Metrika's expenses columns, as Metrika reads headers.

Header names are compared case-insensitively with punctuation ignored, so ``utm_source``, ``UTM Source``
and ``utmsource`` all mean ``UTMSource``; parts are written with Metrika's spelling. Any other column is
refused with the closest names: Metrika would refuse the file or ignore the column.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from airflow_provider_metrika.expenses.columns import (
    ALL_COLUMNS,
    CLICKS,
    DATE,
    EXPENSES,
    REQUIRED,
    SOURCE_COLUMNS,
    TRAFFIC_SOURCE,
    TRAFFIC_SOURCE_DETAIL,
    UTM_CAMPAIGN,
    UTM_SOURCE,
)
from airflow_provider_metrika.expenses.errors import ExpensesInputError
from airflow_provider_metrika.offline_conversions.schema import fold

_KNOWN = {fold(column): column for column in ALL_COLUMNS}
#: Spellings that clearly mean one column; offered as a suggestion only, never applied.
_SYNONYMS: dict[str, str] = {
    "day": DATE,
    "spenddate": DATE,
    "cost": EXPENSES,
    "costs": EXPENSES,
    "spend": EXPENSES,
    "amount": EXPENSES,
    "expense": EXPENSES,
    "source": UTM_SOURCE,
    "campaign": UTM_CAMPAIGN,
    "campaignname": UTM_CAMPAIGN,
    "utmcampaignname": UTM_CAMPAIGN,
    "channel": TRAFFIC_SOURCE,
    "sourcedetail": TRAFFIC_SOURCE_DETAIL,
    "click": CLICKS,
}


def metrika_name(name: str) -> str | None:
    """Return the expenses column a name means, or None.

    :param name: a column name in any case or punctuation.
    """
    return _KNOWN.get(fold(name))


def check_renames(columns: object) -> dict[str, str]:
    """Return ``columns=`` with targets in Metrika's spelling; raise ValueError on a bad mapping.

    :param columns: input column -> Metrika column (any case), or None.
    """
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ValueError(f"columns must be a mapping of input column -> Metrika column, got {columns!r}")
    renames: dict[str, str] = {}
    for source, target in columns.items():
        column = metrika_name(target) if isinstance(target, str) else None
        if not isinstance(source, str) or column is None:
            raise ValueError(
                f"columns maps {source!r} to {target!r}; targets must be one of: {', '.join(ALL_COLUMNS)}"
            )
        if column in renames.values():
            raise ValueError(f"columns maps two input columns to {column!r}")
        renames[source] = column
    return renames


def _suggestion(name: str) -> str:
    folded = fold(name)
    close = difflib.get_close_matches(folded, list(_KNOWN), n=1, cutoff=0.75)
    column = _KNOWN[close[0]] if close else _SYNONYMS.get(folded)
    if column is not None:
        return f"{name!r} -> did you mean {column}? pass columns={{{name!r}: {column!r}}}"
    return f"{name!r}: no Metrika column; leave it out of the input"


def plan_columns(names: list[str], renames: Mapping[str, str]) -> dict[str, str]:
    """Return Metrika column -> input column in the order written; raise ExpensesInputError on a problem.

    :param names: input column names.
    :param renames: checked ``columns=`` (see :func:`check_renames`).
    """
    missing = [name for name in renames if name not in names]
    if missing:
        raise ExpensesInputError(
            f"columns= renames {', '.join(missing)}, but the input has no such column: {', '.join(names)}"
        )
    found: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        column = renames.get(name) or metrika_name(name)
        if column is None:
            unknown.append(name)
        elif column in found:
            raise ExpensesInputError(
                f"input columns {found[column]!r} and {name!r} both mean {column!r}: keep one of them"
            )
        else:
            found[column] = name
    if unknown:
        lines = [
            f"unknown columns: {', '.join(unknown)}. Metrika's expenses file has only: "
            f"{', '.join(ALL_COLUMNS)} (in any case, punctuation ignored).",
            *(f"  {_suggestion(name)}" for name in unknown),
            "Metrika refuses or ignores other columns, so they are not sent: select only the columns above.",
        ]
        raise ExpensesInputError("\n".join(lines))
    for column in REQUIRED:
        if column not in found:
            raise ExpensesInputError(
                f"the required column {column} is missing (input columns: {', '.join(names) or 'none'}); "
                f"if it has another name, pass columns={{'<name>': '{column}'}}"
            )
    if not any(column in found for column in SOURCE_COLUMNS):
        raise ExpensesInputError(
            f"the input needs a UTMSource or a TrafficSource column (input columns: {', '.join(names)}): "
            "Metrika ties each expense to visits by one of them"
        )
    if TRAFFIC_SOURCE_DETAIL in found and TRAFFIC_SOURCE not in found:
        raise ExpensesInputError(
            "TrafficSourceDetail is given without TrafficSource: a detail belongs to a source "
            "(e.g. TrafficSource=ad, TrafficSourceDetail=vk_ads); add the TrafficSource column"
        )
    return {column: found[column] for column in ALL_COLUMNS if column in found}
