"""Render Arrow text columns as RFC 4180 CSV lines, quoting only the cells that need it."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.bytes_ops import has_bytes

# Quote on either delimiter so that a part reads the same whichever delimiter a reader assumes.
_NEEDS_QUOTES = b',;"\r\n'


def quote_cells(cells: pa.Array, needs: np.ndarray | None = None) -> pa.Array:
    """Quote the cells holding a delimiter, a quote or a line break, doubling inner quotes.

    :param cells: ``string`` cells without nulls.
    :param needs: which cells need quotes, when the caller knows (e.g. cells with several values);
        found here otherwise.
    """
    if needs is None:
        needs = has_bytes(cells, _NEEDS_QUOTES)
    if not needs.any():
        return cells
    mask = pa.array(needs)
    chosen = cells.filter(mask)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(chosen, '"', '""'), '"', "")
    return pc.replace_with_mask(cells, mask, quoted)


def csv_lines(cells: Sequence[pa.Array], delimiter: str) -> pa.Array:
    """Join already quoted cells into lines, each ending with ``\\n``.

    :param cells: one text array per column, all the same length.
    :param delimiter: ``,`` or ``;``.
    """
    *first, last = cells
    ended = pc.binary_join_element_wise(last, "", "\n")
    if not first:
        return ended
    return pc.binary_join_element_wise(*first, ended, delimiter)


def header_line(names: Sequence[str], delimiter: str) -> bytes:
    """Return the header line for ``names``.

    :param names: column names.
    :param delimiter: ``,`` or ``;``.
    """
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(names)
    return buffer.getvalue().encode("utf-8")


def line_bounds(lines: pa.Array) -> tuple[np.ndarray, memoryview]:
    """Return the byte offsets of each line (n + 1 values) and the bytes they index.

    :param lines: lines from :func:`csv_lines` (``string`` type, no nulls).
    """
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    offsets = offsets.astype(np.int64)  # int32 sums would overflow near the 1 GB part limit
    data = lines.buffers()[2]
    return offsets, memoryview(data) if data is not None else memoryview(b"")
