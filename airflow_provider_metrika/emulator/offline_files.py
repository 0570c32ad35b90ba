"""Read an offline conversions or calls CSV as Metrika documents it: refuse the file, or keep and drop rows.

Metrika's rules (see its offline conversions and calls pages):

* a header row is required; names are read case-insensitively with punctuation ignored
  (``client_id`` is ``ClientId``), in any order; blank lines are skipped and values trimmed;
* the whole file is refused when it is empty, has no data rows, a malformed header or line, or lacks
  a required column;
* a row with an empty or invalid required value is **dropped silently** and only counted: the file
  is still accepted, with ``line_quantity`` below ``source_quantity``;
* an invalid optional value (``Price``, ``Currency``, the call columns) keeps the row.

Where the documentation leaves a rule open, the emulator is deliberately strict, so that a client's
mistake shows up in tests: a column it does not know, two identifier columns, or a line whose field
count differs from the header's, refuse the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DIGITS = re.compile(r"\d+")
_UNIX_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PHONE = re.compile(r"\+?\d{5,15}")
_MAX_DURATION = 4_294_967_295

#: Identifier columns and the ``client_id_type`` each stands for.
CONVERSION_IDENTIFIERS = {
    "ClientId": "CLIENT_ID",
    "UserId": "USER_ID",
    "Yclid": "YCLID",
    "PurchaseId": "PURCHASE_ID",
}
CALL_IDENTIFIERS = {"ClientId": "CLIENT_ID", "UserId": "USER_ID", "Yclid": "YCLID"}


def _non_empty(value: str) -> bool:
    return bool(value)


def _digits(value: str) -> bool:
    return bool(_DIGITS.fullmatch(value))


def _flag(value: str) -> bool:
    return value in ("0", "1")


def _duration(value: str) -> bool:
    return bool(_DIGITS.fullmatch(value)) and int(value) <= _MAX_DURATION


def _any(value: str) -> bool:
    return True


_IDENTIFIER_CHECKS: dict[str, Callable[[str], bool]] = {
    "ClientId": _digits,
    "Yclid": _digits,
    "UserId": _non_empty,
    "PurchaseId": _non_empty,
}
_MONEY_CHECKS: dict[str, Callable[[str], bool]] = {
    "Price": lambda value: bool(_DECIMAL.fullmatch(value)),
    "Currency": lambda value: bool(_CURRENCY.fullmatch(value)),
}
_CALL_CHECKS: dict[str, Callable[[str], bool]] = {
    "StaticCall": _flag,
    "PhoneNumber": lambda value: bool(_PHONE.fullmatch(value)),
    "TalkDuration": _duration,
    "HoldDuration": _duration,
    "CallMissed": _flag,
    "Tag": _any,
    "FirstTimeCaller": _flag,
    "URL": _any,
    "CallTrackerURL": _any,
}


@dataclass(frozen=True)
class FileKind:
    """What one kind of file holds.

    :param name: ``conversions`` or ``calls``, for messages.
    :param identifiers: identifier column -> ``client_id_type``.
    :param required: required columns besides the identifier (``DateTime`` is checked as a time).
    :param optional: optional column -> the check its non-empty values must pass.
    """

    name: str
    identifiers: Mapping[str, str]
    required: tuple[str, ...]
    optional: Mapping[str, Callable[[str], bool]]

    def canonical(self) -> dict[str, str]:
        """Return normalised header name -> the column's documented spelling."""
        names = [*self.identifiers, *self.required, *self.optional]
        return {normalise_name(name): name for name in names}


CONVERSIONS = FileKind("conversions", CONVERSION_IDENTIFIERS, ("Target", "DateTime"), _MONEY_CHECKS)
CALLS = FileKind("calls", CALL_IDENTIFIERS, ("DateTime",), {**_MONEY_CHECKS, **_CALL_CHECKS})


class FileRefused(ValueError):
    """The whole file is refused (Metrika's 400 ``invalid_uploading``)."""


@dataclass
class OfflineFile:
    """A file read and checked.

    :param client_id_type: the identifier type of its rows.
    :param identifier_column: the column holding the identifier.
    :param source_quantity: data rows in the file (blank lines not counted).
    :param rows: the rows kept, by documented column name; invalid optional values are emptied.
    :param dropped: ``(line, reason)`` of every row dropped, the header being line 1.
    """

    client_id_type: str
    identifier_column: str
    source_quantity: int = 0
    rows: list[dict[str, str]] = field(default_factory=list)
    dropped: list[tuple[int, str]] = field(default_factory=list)


def normalise_name(name: str) -> str:
    """Return a header name as Metrika compares it: lower case, letters and digits only.

    :param name: the name in the file.
    """
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _header(names: list[str], kind: FileKind, client_id_type: str | None) -> tuple[list[str], str]:
    canonical = kind.canonical()
    columns: list[str] = []
    for number, raw in enumerate(names, start=1):
        key = normalise_name(raw)
        if not key:
            raise FileRefused(f"malformed header: column {number} has no name")
        if key not in canonical:
            raise FileRefused(f"malformed header: unknown column {raw.strip()!r} in a {kind.name} file")
        if canonical[key] in columns:
            raise FileRefused(f"malformed header: column {canonical[key]} appears twice")
        columns.append(canonical[key])
    present = [column for column in columns if column in kind.identifiers]
    if client_id_type is not None:
        wanted = next((c for c, t in kind.identifiers.items() if t == client_id_type), None)
        if wanted is None:
            raise FileRefused(f"client_id_type {client_id_type} is not accepted in a {kind.name} file")
        if wanted not in columns:
            raise FileRefused(f"required column {wanted} is missing (client_id_type={client_id_type})")
        present = [wanted, *(column for column in present if column != wanted)]
    if not present:
        raise FileRefused(f"required column is missing: one of {', '.join(kind.identifiers)}")
    if len(present) > 1:
        raise FileRefused(f"one identifier type per file: found {', '.join(present)}")
    for column in kind.required:
        if column not in columns:
            raise FileRefused(f"required column {column} is missing")
    return columns, present[0]


def _drop_reason(row: dict[str, str], identifier: str, now: float) -> str | None:
    if not _IDENTIFIER_CHECKS[identifier](row[identifier]):
        return f"{identifier} is empty or not valid"
    if "Target" in row and not row["Target"]:
        return "Target is empty"
    moment = row["DateTime"]
    if not _UNIX_SECONDS.fullmatch(moment):
        return "DateTime is not Unix seconds"
    if float(moment) > now:
        return "DateTime is in the future"
    return None


def read_offline_file(path: Path, kind: FileKind, client_id_type: str | None, now: float) -> OfflineFile:
    """Read a whole file: the rows kept and the rows dropped, or refuse it.

    :param path: the uploaded file.
    :param kind: :data:`CONVERSIONS` or :data:`CALLS`.
    :param client_id_type: the ``client_id_type`` query value; None infers it from the one identifier
        column of the header.
    :param now: the current Unix time: a later ``DateTime`` drops its row.
    :raises FileRefused: when the whole file is refused.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return _read(csv.reader(stream, strict=True), kind, client_id_type, now)
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the file is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise FileRefused(f"malformed line: {exc}") from None


def _read(reader: Any, kind: FileKind, client_id_type: str | None, now: float) -> OfflineFile:
    lines = iter(reader)
    names = next((cells for cells in lines if any(cell.strip() for cell in cells)), None)
    if names is None:
        raise FileRefused("the file is empty")
    columns, identifier = _header(names, kind, client_id_type)
    result = OfflineFile(kind.identifiers[identifier], identifier)
    for cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if len(cells) != len(columns):
            raise FileRefused(f"malformed line {line}: {len(cells)} fields, the header has {len(columns)}")
        result.source_quantity += 1
        row = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
        reason = _drop_reason(row, identifier, now)
        if reason is not None:
            result.dropped.append((line, reason))
            continue
        for column, check in kind.optional.items():
            if row.get(column) and not check(row[column]):
                row[column] = ""
        result.rows.append(row)
    if result.source_quantity == 0:
        raise FileRefused("the file has no data rows")
    return result
