"""Validate a simplified orders CSV file by the rules Metrika documents, reading it row by row.

Rows are numbered by the line of the file they start on, the header being row 1, so a message points
at the line a person sees in an editor.

Where the public documentation leaves a rule open, the emulator is deliberately strict so that a
client's mistake shows up in tests rather than in production:

* column names must match exactly (case and surrounding spaces count);
* a file with a header but no data rows fails;
* blank lines are skipped and not counted;
* ``dd`` and ``MM`` need two digits, as the documented patterns spell them.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from airflow_provider_metrika.emulator.constants import (
    CREATE_DATE_TIME_COLUMN,
    ID_COLUMN,
    IDENTIFIER_COLUMNS,
    MAX_VALIDATION_ERRORS,
    ORDER_COLUMNS,
    ORDER_STATUSES,
    READ_CHUNK_BYTES,
)

_TIME = r"(?: (?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
_DATE_PATTERNS = (
    re.compile(r"(?P<day>\d{2})\.(?P<month>\d{2})\.(?P<year>\d{4})" + _TIME),
    re.compile(r"(?P<day>\d{2})\.(?P<month>\d{2})\.(?P<short_year>\d{2})" + _TIME),
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})" + _TIME),
)
_EARLIEST_DATE = date(1970, 1, 1)
_GOAL_ID = re.compile(r"[A-Za-z0-9_]+")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_GOAL = re.compile(r"[A-Za-z0-9_]+(?::\d+(?:\.\d+)?)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_PHONE = re.compile(r"\d{7,15}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_CLIENT_ID = re.compile(r"\d{1,20}")
_CURRENCY = re.compile(r"[A-Z]{3}")

_DATE_FORMATS_TEXT = (
    "dd.MM.yyyy, dd.MM.yy or yyyy-MM-dd, optionally followed by a space and HH:mm or HH:mm:ss; no time zone"
)


@dataclass
class ValidationResult:
    """What validating one file found.

    :param elements_count: number of data rows read.
    :param errors: the first :data:`MAX_VALIDATION_ERRORS` problems, each naming row and column.
    :param duplicate_ids: rows whose non-empty ``id`` already appeared earlier in the file.
    :param columns: the header, in file order.
    """

    elements_count: int = 0
    errors: list[str] = field(default_factory=list)
    duplicate_ids: int = 0
    columns: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Tell whether the file may be applied."""
        return not self.errors

    def add_error(self, message: str) -> None:
        """Record a problem, keeping at most :data:`MAX_VALIDATION_ERRORS` of them.

        :param message: the problem, already naming its row and column.
        """
        if len(self.errors) < MAX_VALIDATION_ERRORS:
            self.errors.append(message)


def _pattern_check(pattern: re.Pattern[str], what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if pattern.fullmatch(value) else f'"{value}" is not {what}'

    return check


def _check_email(value: str) -> str | None:
    if _EMAIL.fullmatch(value) and value == value.lower():
        return None
    return f'"{value}" is not a valid email (lowercase, must contain @ and a domain)'


def _check_order_status(value: str) -> str | None:
    if value in ORDER_STATUSES or _GOAL_ID.fullmatch(value):
        return None
    return (
        f'"{value}" is not an order status '
        f"({', '.join(ORDER_STATUSES)} or a goal id of letters, digits and _)"
    )


_check_decimal = _pattern_check(_DECIMAL, "a non-negative plain decimal (digits with an optional . fraction)")

#: Checks of one value; list columns apply them to every comma-joined element.
_VALUE_CHECKS: dict[str, Callable[[str], str | None]] = {
    "client_ids": _pattern_check(_CLIENT_ID, "a valid ClientID (digits only, at most 20)"),
    "emails": _check_email,
    "phones": _pattern_check(_PHONE, "a valid phone (digits only with country code, 7 to 15 digits)"),
    "emails_md5": _pattern_check(_MD5, "an MD5 hash (32 lowercase hex digits)"),
    "phones_md5": _pattern_check(_MD5, "an MD5 hash (32 lowercase hex digits)"),
    "goals": _pattern_check(_GOAL, "a goal (goal_id[:price], goal_id of letters, digits and _)"),
    "order_status": _check_order_status,
    "revenue": _check_decimal,
    "cost": _check_decimal,
    "currency": _pattern_check(_CURRENCY, "a currency code (3 uppercase letters)"),
}
_MULTI_VALUE_COLUMNS = frozenset((*IDENTIFIER_COLUMNS, "goals"))


def split_values(cell: str) -> list[str]:
    """Split a multi-value cell into its values; an empty cell has none.

    :param cell: the cell text, values joined with commas.
    """
    return cell.split(",") if cell else []


# Exports repeat the same dates and times across many rows; parsing each distinct text once is enough.
@functools.lru_cache(maxsize=65536)
def check_create_date_time(value: str) -> str | None:
    """Check a ``create_date_time`` cell; return the problem or ``None``.

    :param value: the cell text.
    """
    if not value:
        return "create_date_time is required"
    if "T" in value:
        return f'"{value}" uses the ISO "T" separator; write a space between date and time'
    match = next((m for p in _DATE_PATTERNS if (m := p.fullmatch(value))), None)
    if match is None:
        return f'"{value}" is not an accepted date ({_DATE_FORMATS_TEXT})'
    parts = match.groupdict()
    year = int(parts["year"]) if parts.get("year") else _expand_short_year(int(parts["short_year"]))
    try:
        parsed = datetime(
            year,
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
        )
    except ValueError:
        return f'"{value}" is not a real calendar date and time'
    if parsed.date() < _EARLIEST_DATE:
        return f'"{value}" is before 1970-01-01'
    return None


def _expand_short_year(short_year: int) -> int:
    # A two-digit year is read as the nearest past century, the way Java's ``yy`` pattern does.
    return 2000 + short_year if 2000 + short_year <= date.today().year + 20 else 1900 + short_year


def check_cell(column: str, cell: str) -> list[str]:
    """Check one non-date cell; return its problems, without row or column.

    :param column: the column name.
    :param cell: the cell text.
    """
    check = _VALUE_CHECKS.get(column)
    if check is None or not cell:
        return []
    if column not in _MULTI_VALUE_COLUMNS or ("," not in cell and " " not in cell):
        problem = check(cell)
        return [problem] if problem else []
    problems: list[str] = []
    for value in split_values(cell):
        if not value:
            problems.append(f'"{cell}" has an empty value between commas')
        elif value != value.strip():
            problems.append(f'"{cell}" must join values with commas and no spaces')
        elif problem := check(value):
            problems.append(problem)
    return problems


def check_header(columns: list[str]) -> list[str]:
    """Check the header row; return its problems.

    :param columns: column names in file order.
    """
    problems = []
    unknown = [name for name in columns if name not in ORDER_COLUMNS]
    if unknown:
        problems.append(
            f"header: unknown columns: {', '.join(unknown)} (allowed: {', '.join(ORDER_COLUMNS)})"
        )
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        problems.append(f"header: duplicate columns: {', '.join(duplicated)}")
    if CREATE_DATE_TIME_COLUMN not in columns:
        problems.append(f"header: required column {CREATE_DATE_TIME_COLUMN} is missing")
    if not any(name in columns for name in IDENTIFIER_COLUMNS):
        problems.append(f"header: no identifier column; add one of {', '.join(IDENTIFIER_COLUMNS)}")
    return problems


class RowChecker:
    """Check data rows against a valid header, with the per-column checks looked up once.

    :param header: column names in file order, already accepted by :func:`check_header`.
    """

    def __init__(self, header: list[str]) -> None:
        self.width = len(header)
        self.date_index = header.index(CREATE_DATE_TIME_COLUMN)
        self.id_index = header.index(ID_COLUMN) if ID_COLUMN in header else None
        self.identifier_indexes = [i for i, name in enumerate(header) if name in IDENTIFIER_COLUMNS]
        self.checked = [(i, name) for i, name in enumerate(header) if name in _VALUE_CHECKS]

    def problems(self, row_number: int, fields: list[str]) -> list[str]:
        """Return the row's problems, each naming the row and, when it applies, the column.

        :param row_number: the file line the row starts on (the header is row 1).
        :param fields: the row's cells.
        """
        if len(fields) != self.width:
            return [
                f"row {row_number}: expected {self.width} fields, found {len(fields)} "
                "(check delimiter_type and quoting)"
            ]
        problems = []
        date_problem = check_create_date_time(fields[self.date_index])
        if date_problem:
            problems.append(f"row {row_number}, column {CREATE_DATE_TIME_COLUMN}: {date_problem}")
        if not any(fields[i] for i in self.identifier_indexes):
            problems.append(
                f"row {row_number}: no identifier; fill at least one of {', '.join(IDENTIFIER_COLUMNS)}"
            )
        for index, column in self.checked:
            if fields[index]:
                for problem in check_cell(column, fields[index]):
                    problems.append(f"row {row_number}, column {column}: {problem}")
        return problems

    def order_id(self, fields: list[str]) -> str:
        """Return the row's order id, empty when the file has none.

        :param fields: the row's cells.
        """
        return fields[self.id_index] if self.id_index is not None and len(fields) == self.width else ""


def find_utf8_error(path: Path) -> str | None:
    """Return where the file stops being UTF-8, or ``None`` when all of it decodes.

    :param path: the file to check.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return f"file is not UTF-8: undecodable byte at offset {offset + exc.start}"
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return f"file is not UTF-8: truncated character at the end (offset {offset})"
    return None


class MalformedCsvError(ValueError):
    """A record the CSV reader cannot split into fields, e.g. an unclosed quote.

    :param row_number: the file line the broken record starts on.
    :param reason: what the CSV reader reported.
    """

    def __init__(self, row_number: int, reason: str) -> None:
        super().__init__(f"row {row_number}: malformed CSV ({reason}); check quoting and delimiter_type")
        self.row_number = row_number


def iter_rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, fields)`` for every non-blank record, the header included.

    :param path: a UTF-8 CSV file; a leading BOM is dropped.
    :param delimiter: the field delimiter.
    :raises MalformedCsvError: on broken quoting.
    """
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter, strict=True)
        start_line = 1
        try:
            for fields in reader:
                row_number, start_line = start_line, reader.line_num + 1
                if fields:
                    yield row_number, fields
        except csv.Error as exc:
            raise MalformedCsvError(start_line, str(exc)) from exc


def iter_records(path: Path, delimiter: str) -> Iterator[dict[str, str]]:
    """Yield the data rows of a file that passed validation, as column name to cell text.

    :param path: the validated file.
    :param delimiter: the field delimiter.
    """
    rows = iter_rows(path, delimiter)
    _, header = next(rows)
    for _, fields in rows:
        yield dict(zip(header, fields, strict=True))


def validate_file(path: Path, delimiter: str) -> ValidationResult:
    """Validate a whole simplified orders file without loading it into memory.

    :param path: the uploaded file.
    :param delimiter: the field delimiter chosen by ``delimiter_type``.
    """
    result = ValidationResult()
    utf8_problem = find_utf8_error(path)
    if utf8_problem:
        result.add_error(utf8_problem)
        return result
    rows = iter_rows(path, delimiter)
    try:
        first = next(rows, None)
        if first is None:
            result.add_error("file is empty: a header row is required")
            return result
        header = first[1]
        result.columns = tuple(header)
        header_problems = check_header(header)
        for problem in header_problems:
            result.add_error(problem)
        checker = None if header_problems else RowChecker(header)
        seen_ids: set[str] = set()
        for row_number, fields in rows:
            result.elements_count += 1
            if checker is None:
                continue
            for problem in checker.problems(row_number, fields):
                result.add_error(problem)
            order_id = checker.order_id(fields)
            if order_id:
                if order_id in seen_ids:
                    result.duplicate_ids += 1
                seen_ids.add(order_id)
    except MalformedCsvError as exc:
        result.add_error(str(exc))
        return result
    if result.elements_count == 0 and result.passed:
        result.add_error("file has a header but no data rows")
    return result


def parse_create_date_time(value: str) -> datetime | None:
    """Read a valid ``create_date_time`` cell as a naive wall-clock time; a date alone means 23:59.

    :param value: the cell text, already valid (see :func:`check_create_date_time`).
    :return: the time, or ``None`` when the cell is not a valid date.
    """
    if check_create_date_time(value) is not None:
        return None
    match = next(m for p in _DATE_PATTERNS if (m := p.fullmatch(value)))
    parts = match.groupdict()
    year = int(parts["year"]) if parts.get("year") else _expand_short_year(int(parts["short_year"]))
    if parts["hour"] is None:
        return datetime(year, int(parts["month"]), int(parts["day"]), 23, 59)
    return datetime(
        year,
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"]),
        int(parts["minute"]),
        int(parts["second"] or 0),
    )
