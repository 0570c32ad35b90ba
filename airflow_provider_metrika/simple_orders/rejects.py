"""Write rejected rows, with their original values, row numbers and reasons, to ``rejects.csv``.

The file stays on the worker so that the data can be fixed: values are not masked.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.csv_text import csv_lines, header_line, line_bounds, quote_cells
from airflow_provider_metrika.simple_orders.problems import cell_text

ROW_FIELD = "_row"
REASONS_FIELD = "_reasons"


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
    """

    def __init__(self, path: Path, names: list[str], delimiter: str) -> None:
        self.path = path
        self.names = names
        self.delimiter = delimiter
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
            self._file.write(header_line([*self.names, ROW_FIELD, REASONS_FIELD], self.delimiter))
        cells = [quote_cells(original_text(batch.column(name))) for name in self.names]
        cells += [pa.array(rows, pa.int64()).cast(pa.string()), quote_cells(reasons)]
        offsets, data = line_bounds(csv_lines(cells, self.delimiter))
        self._file.write(data[offsets[0] : offsets[-1]])
        self.rows += len(rows)

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
