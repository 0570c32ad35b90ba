"""Map input columns to Metrika's, as Metrika reads headers, and choose the one identifier sent.

Metrika reads header names case-insensitively with punctuation ignored, so ``client_id``, ``ClientID``
and ``clientid`` all mean ``ClientId``; parts are written with Metrika's own spelling. Any other column
is refused: Metrika would refuse the file or ignore the column, and either is a surprise after the upload.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_metrika.offline_conversions.columns import (
    CALLS_FILE,
    CLIENT_ID,
    CONVERSIONS_FILE,
    DATE_TIME,
    FIRST_TIME_CALLER,
    PHONE_NUMBER,
    PRICE,
    PURCHASE_ID,
    STATIC_CALL,
    TALK_DURATION,
    URL,
    FileKind,
)
from airflow_provider_metrika.offline_conversions.errors import ConversionsInputError

_NOISE = re.compile(r"[\W_]+")

#: Spellings that clearly mean one column; offered as a suggestion only, never applied.
_SYNONYMS: dict[str, str] = {
    "ymuid": CLIENT_ID,
    "ymclientid": CLIENT_ID,
    "metrikaclientid": CLIENT_ID,
    "clientids": CLIENT_ID,
    "conversiontime": DATE_TIME,
    "conversiondatetime": DATE_TIME,
    "eventtime": DATE_TIME,
    "timestamp": DATE_TIME,
    "calltime": DATE_TIME,
    "calldatetime": DATE_TIME,
    "revenue": PRICE,
    "conversionvalue": PRICE,
    "orderid": PURCHASE_ID,
    "transactionid": PURCHASE_ID,
    "phone": PHONE_NUMBER,
    "callerphone": PHONE_NUMBER,
    "callernumber": PHONE_NUMBER,
    "duration": TALK_DURATION,
    "talktime": TALK_DURATION,
    "static": STATIC_CALL,
    "newcaller": FIRST_TIME_CALLER,
    "pageurl": URL,
    "landingurl": URL,
}


def fold(name: str) -> str:
    """Return a column name as Metrika compares it: lower case, without spaces or punctuation.

    :param name: a column name.
    """
    return _NOISE.sub("", name.lower())


@dataclass(frozen=True)
class ColumnPlan:
    """Which input column becomes which Metrika column, and the identifier sent.

    :param sources: Metrika column -> input column, in the order written (the identifier first).
    :param client_id_type: the identifier type sent (``CLIENT_ID``, ``USER_ID``, ...).
    :param unused_identifiers: other identifier columns the input has; they are not sent.
    """

    sources: dict[str, str]
    client_id_type: str
    unused_identifiers: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        """Return the identifier column sent."""
        return next(iter(self.sources))


def metrika_name(name: str, kind: FileKind) -> str | None:
    """Return the Metrika column a name means in this file, or None.

    :param name: a column name in any case or punctuation.
    :param kind: the file.
    """
    return {fold(column): column for column in kind.all_columns}.get(fold(name))


def check_renames(columns: object, kind: FileKind) -> dict[str, str]:
    """Return ``columns=`` with targets in Metrika's spelling; raise ValueError on a bad mapping.

    :param columns: input column -> Metrika column (any case), or None.
    :param kind: the file.
    """
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise ValueError(f"columns must be a mapping of input column -> Metrika column, got {columns!r}")
    renames: dict[str, str] = {}
    for source, target in columns.items():
        column = metrika_name(target, kind) if isinstance(target, str) else None
        if not isinstance(source, str) or column is None:
            raise ValueError(
                f"columns maps {source!r} to {target!r}; targets must be one of: "
                f"{', '.join(kind.all_columns)}"
            )
        if column in renames.values():
            raise ValueError(f"columns maps two input columns to {column!r}")
        renames[source] = column
    return renames


def _suggestion(name: str, kind: FileKind) -> str:
    folded = fold(name)
    known = {fold(column): column for column in kind.all_columns}
    close = difflib.get_close_matches(folded, list(known), n=1, cutoff=0.75)
    column = _SYNONYMS.get(folded) if not close else known[close[0]]
    if column is not None and column in kind.all_columns:
        return f"{name!r} -> did you mean {column}? pass columns={{{name!r}: {column!r}}}"
    other = CALLS_FILE if kind is CONVERSIONS_FILE else CONVERSIONS_FILE
    elsewhere = metrika_name(name, other)
    if elsewhere is not None:
        return f"{name!r} is a column of {other.name}, not of {kind.name}: leave it out"
    return f"{name!r}: no Metrika column; leave it out of the input"


def _unknown_error(unknown: list[str], kind: FileKind) -> ConversionsInputError:
    lines = [
        f"unknown columns: {', '.join(unknown)}. Metrika's {kind.name} file has only: "
        f"{', '.join(kind.all_columns)} (in any case, punctuation ignored).",
        *(f"  {_suggestion(name, kind)}" for name in unknown),
        "Metrika refuses or ignores other columns, so they are not sent: select only the columns above.",
    ]
    return ConversionsInputError("\n".join(lines))


def _targets(names: list[str], renames: Mapping[str, str], kind: FileKind) -> dict[str, str]:
    """Return Metrika column -> input column, refusing unknown, missing or doubled columns."""
    missing = [name for name in renames if name not in names]
    if missing:
        raise ConversionsInputError(
            f"columns= renames {', '.join(missing)}, but the input has no such column: {', '.join(names)}"
        )
    found: dict[str, str] = {}
    unknown: list[str] = []
    for name in names:
        column = renames.get(name) or metrika_name(name, kind)
        if column is None:
            unknown.append(name)
        elif column in found:
            raise ConversionsInputError(
                f"input columns {found[column]!r} and {name!r} both mean {column!r}: keep one of them"
            )
        else:
            found[column] = name
    if unknown:
        raise _unknown_error(unknown, kind)
    for column in kind.required:
        if column not in found:
            raise ConversionsInputError(
                f"the required column {column} is missing (input columns: {', '.join(names) or 'none'}); "
                f"if it has another name, pass columns={{'<name>': '{column}'}}"
            )
    return found


def _choose(present: list[str], kind: FileKind, client_id_type: str | None) -> str:
    """Return the identifier column to send."""
    types = kind.client_id_types
    if client_id_type is not None:
        column = types[client_id_type]
        if column not in present:
            raise ConversionsInputError(
                f"client_id_type={client_id_type!r} sends the {column} column, but the input has none "
                f"(identifier columns found: {', '.join(present) or 'none'})"
            )
        return column
    named = ", ".join(f"{column} ({type_name})" for type_name, column in types.items())
    if not present:
        raise ConversionsInputError(
            f"no identifier column: every {kind.name} row needs one of {named}; "
            "if yours has another name, pass columns={'<name>': '<identifier>'}"
        )
    if len(present) > 1:
        chosen = {column: type_name for type_name, column in types.items()}
        offered = " or ".join(repr(chosen[column]) for column in present)
        raise ConversionsInputError(
            f"the input has several identifier columns ({', '.join(present)}), and Metrika takes one "
            f"identifier type per upload: pass client_id_type={offered} to choose the one sent "
            "(the others are left out), or upload each type separately"
        )
    return present[0]


def plan_columns(
    names: list[str], kind: FileKind, renames: Mapping[str, str], client_id_type: str | None
) -> ColumnPlan:
    """Check the input's columns and return the plan; raise ConversionsInputError on any problem.

    :param names: input column names.
    :param kind: the file.
    :param renames: checked ``columns=`` (see :func:`check_renames`).
    :param client_id_type: the identifier type chosen, or None to infer it from the columns.
    """
    found = _targets(names, renames, kind)
    present = [column for column in kind.identifiers if column in found]
    identifier = _choose(present, kind, client_id_type)
    sources = {identifier: found[identifier]}
    sources |= {column: found[column] for column in kind.columns if column in found}
    type_of = {column: name for name, column in kind.client_id_types.items()}
    unused = tuple(column for column in present if column != identifier)
    return ColumnPlan(sources, type_of[identifier], unused)
