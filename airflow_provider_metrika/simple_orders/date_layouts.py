"""Parse date strings of the documented fixed layouts byte-wise, far faster than the regex path.

Each layout is a template: ``d M y H m s`` are digits of the day, month, year, hour, minute and second,
``f`` digits of a fraction of a second (dropped), ``h n`` digits of a UTC offset's hours and minutes,
``+`` its sign, anything else a literal character.
Strings that fit no layout are left to the regex parser in :mod:`dates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from airflow_provider_metrika.simple_orders.bytes_ops import string_buffers

LAYOUTS = (
    "dd.MM.yyyy",
    "dd.MM.yy",
    "yyyy-MM-dd",
    "dd.MM.yyyy HH:mm",
    "dd.MM.yy HH:mm",
    "yyyy-MM-dd HH:mm",
    "yyyy-MM-ddTHH:mm",
    "dd.MM.yyyy HH:mm:ss",
    "dd.MM.yy HH:mm:ss",
    "yyyy-MM-dd HH:mm:ss",
    "yyyy-MM-ddTHH:mm:ss",
    "yyyy-MM-ddTHH:mm:ssZ",
    "yyyy-MM-dd HH:mm:ssZ",
    "yyyy-MM-ddTHH:mm:ss+hh:nn",
    "yyyy-MM-dd HH:mm:ss+hh:nn",
    "yyyy-MM-ddTHH:mm:ss.fffZ",
    "yyyy-MM-ddTHH:mm:ss.ffffffZ",
    "yyyy-MM-ddTHH:mm:ss.fff+hh:nn",
    "yyyy-MM-ddTHH:mm:ss.ffffff+hh:nn",
)
_DIGIT_FIELDS = "dMyHmshnf"


@dataclass
class DateParts:
    """Fields of parsed date strings, one element per string (zeros where not parsed).

    :param matched: the string was parsed.
    :param has_time: it had a time of day.
    :param has_zone: it had a UTC offset (or ``Z``).
    :param offset: the offset in seconds.
    """

    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    minute: np.ndarray
    second: np.ndarray
    offset: np.ndarray
    matched: np.ndarray
    has_time: np.ndarray
    has_zone: np.ndarray

    @classmethod
    def empty(cls, count: int) -> DateParts:
        """Return parts for ``count`` strings, none parsed.

        :param count: number of strings.
        """
        zeros = [np.zeros(count, dtype=np.int64) for _ in range(7)]
        flags = [np.zeros(count, dtype=bool) for _ in range(3)]
        return cls(*zeros, *flags)

    def assign(self, rows: np.ndarray, other: DateParts) -> None:
        """Copy every field of ``other`` into the given rows.

        :param rows: row indices, one per element of ``other``.
        :param other: parts of those rows.
        """
        for name in self.__dataclass_fields__:
            getattr(self, name)[rows] = getattr(other, name)


def _number(matrix: np.ndarray, layout: str, field: str) -> np.ndarray:
    value = np.zeros(len(matrix), dtype=np.int64)
    for position, char in enumerate(layout):
        if char == field:
            value = value * 10 + (matrix[:, position].astype(np.int64) - ord("0"))
    return value


def _fits(matrix: np.ndarray, layout: str) -> np.ndarray:
    fits = np.ones(len(matrix), dtype=bool)
    for position, char in enumerate(layout):
        column = matrix[:, position]
        if char in _DIGIT_FIELDS:
            fits &= (column - np.uint8(ord("0"))) <= 9  # uint8 wraps: bytes below "0" become large
        elif char == "+":
            fits &= (column == ord("+")) | (column == ord("-"))
        else:
            fits &= column == ord(char)
    return fits


def _parse(matrix: np.ndarray, layout: str) -> DateParts:
    parts = DateParts.empty(len(matrix))
    year = _number(matrix, layout, "y")
    parts.year = year + 2000 if layout.count("y") == 2 else year  # dd.MM.yy: see the note in dates
    parts.month, parts.day = _number(matrix, layout, "M"), _number(matrix, layout, "d")
    parts.hour, parts.minute = _number(matrix, layout, "H"), _number(matrix, layout, "m")
    parts.second = _number(matrix, layout, "s")
    parts.matched[:] = True
    parts.has_time[:] = "H" in layout
    parts.has_zone[:] = "Z" in layout or "+" in layout
    if "+" in layout:
        sign = np.where(matrix[:, layout.index("+")] == ord("-"), -1, 1)
        parts.offset = sign * (_number(matrix, layout, "h") * 3600 + _number(matrix, layout, "n") * 60)
    return parts


def parse_layouts(text: pa.Array) -> DateParts:
    """Parse the strings that fit one of :data:`LAYOUTS`; the rest stay unmatched.

    :param text: trimmed ``string`` array without nulls.
    """
    offsets, data = string_buffers(text)
    lengths = np.diff(offsets)
    parts = DateParts.empty(len(text))
    for length in sorted({len(layout) for layout in LAYOUTS}):
        rows = np.flatnonzero(lengths == length)
        if len(rows) == 0:
            continue
        matrix = data[offsets[rows][:, None] + np.arange(length)]
        for layout in (layout for layout in LAYOUTS if len(layout) == length):
            fits = _fits(matrix, layout)
            if fits.any():
                parts.assign(rows[fits], _parse(matrix[fits], layout))
                rows, matrix = rows[~fits], matrix[~fits]
    return parts
