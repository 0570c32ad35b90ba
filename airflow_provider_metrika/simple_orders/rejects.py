"""Write rejected rows, with their original values, row numbers and reasons, to ``rejects.csv``.

Values are kept as given so that the data can be fixed, except with ``hash_identifiers=True``, where raw
customer data must not leave the worker and the file may be copied to object storage: then every column
that can hold customer data (emails, phones, customer and client ids, and columns Metrika does not
know) is masked the way logs mask it (``m***@example.com``, ``79***11``); ``_row`` leads back to the
input row. The header and the columns stay the same either way.

The file is made for a person to open in a spreadsheet, so a cell that a spreadsheet would run as a
formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: OWASP's CSV injection
list) is written with a leading ``'``, in every column and the header, after masking:
``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)`` and ``-5`` becomes ``'-5``. The parts sent to Metrika
are written elsewhere and keep every value as normalised.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.csv_text import csv_lines, header_line, line_bounds, quote_cells
from airflow_provider_metrika.simple_orders.masking import DOMAIN_PATTERN
from airflow_provider_metrika.simple_orders.problems import cell_text

ROW_FIELD = "_row"
REASONS_FIELD = "_reasons"


#: Columns written as given even when identifiers are masked: they say nothing about a customer.
READABLE_COLUMNS = frozenset(
    {"id", "create_date_time", "order_status", "revenue", "cost", "goals", "currency"}
    | {"emails_md5", "phones_md5"}
)
#: A cell's first character that starts a formula in a spreadsheet, and its neutral form (OWASP).
FORMULA_START = (r"^([=+\-@\t\r])", r"'\1")
_EMAIL_MASK = (r"(?s)^\s*([^@\s])?.*@([^@]*)$", r"\1***@\2")
#: A value masked as an email: its domain (after the last ``@``) is one (see ``DOMAIN_PATTERN``).
_EMAIL_DOMAIN = rf"@{DOMAIN_PATTERN}\s*$"
_OTHER_MASK = (r"(?s)^\s*(..).+(..)\s*$", r"\1***\2")


def mask_cells(cells: pa.Array) -> pa.Array:
    """Mask every comma-separated value of text cells, vectorised (as :func:`mask_value` shows one).

    A value with ``@`` and a domain keeps its first character and its domain, any other its first and
    last two characters (``***`` alone when it has four or fewer).

    :param cells: ``string`` cells without nulls.
    """
    lists = pc.split_pattern(cells, ",")
    values = pc.list_flatten(lists)
    email = pc.match_substring_regex(values, _EMAIL_DOMAIN)
    emails = pc.replace_substring_regex(values, *_EMAIL_MASK)
    size = pc.utf8_length(pc.utf8_trim_whitespace(values))
    others = pc.if_else(
        pc.greater(size, 4),
        pc.replace_substring_regex(values, *_OTHER_MASK),
        pc.if_else(pc.equal(size, 0), "", "***"),
    )
    masked = pc.if_else(email, emails, others)
    offsets = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    bounds = np.zeros(len(cells) + 1, dtype=np.int32)
    np.cumsum(offsets, out=bounds[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(bounds), masked), ",")


def neutralise_formulas(cells: pa.Array) -> pa.Array:
    """Prefix ``'`` to cells a spreadsheet would read as a formula (see the module's docstring).

    :param cells: ``string`` cells without nulls.
    """
    return pc.replace_substring_regex(cells, *FORMULA_START)


def masked_reject_columns(names: list[str], sources: Mapping[str, str]) -> frozenset[str]:
    """Return the input columns masked in the rejects file when identifiers are hashed.

    :param names: the input column names.
    :param sources: Metrika column -> the input column it is read from.
    """
    readable = {source for target, source in sources.items() if target in READABLE_COLUMNS}
    return frozenset(name for name in names if name not in readable)


def original_text(array: pa.Array) -> pa.Array:
    """Return any input column as text for the rejects file, ``""`` for missing values.

    :param array: the column as read (text, numbers, timestamps, lists, ...).
    """
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = original_text(pc.list_flatten(array))
        offsets = np.zeros(len(array) + 1, dtype=np.int32)
        np.cumsum(pc.list_value_length(array).fill_null(0).to_numpy(), out=offsets[1:])
        return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), values), ",").fill_null("")
    try:
        return array.cast(pa.string()).fill_null("")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([cell_text(array, index) for index in range(len(array))], pa.string())


class RejectsWriter:
    """Appends rejected rows to one CSV file, opened on the first rejected row.

    :param path: the file to write.
    :param names: input column names (the originals, before renames).
    :param delimiter: ``,`` or ``;``.
    :param masked: input columns whose values are masked (see the module's docstring).
    """

    def __init__(
        self, path: Path, names: list[str], delimiter: str, masked: frozenset[str] = frozenset()
    ) -> None:
        self.path = path
        self.names = names
        self.delimiter = delimiter
        self.masked = masked
        self.rows = 0
        self._file: IO[bytes] | None = None

    def write(self, batch: pa.RecordBatch, rows: np.ndarray, reasons: pa.Array) -> None:
        """Append rows of ``batch`` (already filtered to the rejected ones).

        :param batch: rejected rows, original columns.
        :param rows: their 1-based input row numbers.
        :param reasons: their reasons, one text per row.
        """
        if self._file is None:
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            names = neutralise_formulas(pa.array(self.names, pa.string())).to_pylist()
            self._file.write(header_line([*names, ROW_FIELD, REASONS_FIELD], self.delimiter))
        cells = [quote_cells(self._shown(name, batch.column(name))) for name in self.names]
        cells += [pa.array(rows, pa.int64()).cast(pa.string()), quote_cells(neutralise_formulas(reasons))]
        offsets, data = line_bounds(csv_lines(cells, self.delimiter))
        self._file.write(data[offsets[0] : offsets[-1]])
        self.rows += len(rows)

    def _shown(self, name: str, array: pa.Array) -> pa.Array:
        text = original_text(array)
        return neutralise_formulas(mask_cells(text) if name in self.masked else text)

    def close(self) -> Path | None:
        """Close the file; return its path, or None if no row was rejected."""
        if self._file is None:
            return None
        self._file.close()
        return self.path

    def discard(self) -> None:
        """Close and delete the file: the run failed for a reason other than its rows."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
