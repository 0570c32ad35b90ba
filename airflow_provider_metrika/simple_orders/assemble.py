"""Turn the valid rows of a normalised batch into CSV lines, hashing identifiers when asked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import HASHED_COLUMNS, ID_COLUMN
from airflow_provider_metrika.simple_orders.csv_text import csv_lines, quote_cells
from airflow_provider_metrika.simple_orders.hashing import md5_array
from airflow_provider_metrika.simple_orders.normalise import NormalisedBatch
from airflow_provider_metrika.simple_orders.text import MultiValues

#: Columns that may hold any text, so each cell is checked for characters that need quoting.
_FREE_TEXT = frozenset({"id", "client_uniq_id"})


@dataclass
class OutputRows:
    """Valid rows of a batch, rendered.

    :param rows: 1-based input row numbers.
    :param lines: one CSV line per row, ending with a line break.
    :param ids: the ``id`` text of each row (``""`` if empty), or None without an id column.
    :param cells: the written cells per column (used for totals).
    """

    rows: np.ndarray
    lines: pa.Array
    ids: pa.Array | None
    cells: dict[str, pa.Array]

    def without_id(self) -> np.ndarray:
        """Return, per row, True when its ``id`` is empty."""
        if self.ids is None:
            return np.ones(len(self.rows), dtype=bool)
        return pc.equal(self.ids, "").to_numpy(zero_copy_only=False)


def _merge_joined(first: pa.Array, second: pa.Array) -> pa.Array:
    """Comma-join two multi-value cells row by row, skipping empty ones.

    No nulls go in: ``binary_join_element_wise`` with ``null_handling="skip"`` leaves out the rows
    whose inputs are all null (pyarrow 26), which would shorten the column.
    """
    joined = pc.binary_join_element_wise(first, second, ",")
    either = pc.if_else(pc.equal(first, ""), second, first)
    return pc.if_else(pc.and_(pc.not_equal(first, ""), pc.not_equal(second, "")), joined, either)


def _multi_cells(
    multi: dict[str, MultiValues], keep: np.ndarray, hash_identifiers: bool
) -> tuple[dict[str, pa.Array], dict[str, np.ndarray]]:
    """Return the joined cells of multi-value columns, and per column the rows holding several values."""
    cells: dict[str, pa.Array] = {}
    counts: dict[str, np.ndarray] = {}
    for column, values in multi.items():
        kept = values.take_rows(keep)
        target = HASHED_COLUMNS[column] if hash_identifiers and column in HASHED_COLUMNS else column
        joined = kept.join(md5_array(kept.values)) if target != column else kept.join()
        if target in cells:  # hashed emails next to an emails_md5 column: keep both sets of hashes
            cells[target] = _merge_joined(cells[target], joined)
            counts[target] = counts[target] + kept.row_counts()
        else:
            cells[target], counts[target] = joined, kept.row_counts()
    return cells, {column: count > 1 for column, count in counts.items()}


def _quoted(column: str, cells: pa.Array, several: dict[str, np.ndarray]) -> pa.Array:
    if column in _FREE_TEXT:
        return quote_cells(cells)
    if column in several:
        # Normalised values never hold quotes, semicolons or line breaks: only several values need quoting.
        return quote_cells(cells, several[column])
    if column == "goals":
        return quote_cells(cells)
    return cells


def assemble_rows(
    batch: NormalisedBatch,
    keep: np.ndarray,
    rows: np.ndarray,
    output: list[str],
    delimiter: str,
    hash_identifiers: bool,
) -> OutputRows:
    """Render the rows flagged in ``keep`` as CSV lines with the ``output`` columns.

    :param batch: the normalised batch.
    :param keep: rows to render (the valid ones).
    :param rows: 1-based input row numbers of the whole batch.
    :param output: columns to write, in order.
    :param delimiter: ``,`` or ``;``.
    :param hash_identifiers: write MD5 of emails and phones instead of the values.
    """
    mask = None if keep.all() else pa.array(keep)
    cells = {column: text if mask is None else text.filter(mask) for column, text in batch.text.items()}
    multi_cells, several = _multi_cells(batch.multi, keep, hash_identifiers)
    cells.update(multi_cells)
    lines = csv_lines([_quoted(column, cells[column], several) for column in output], delimiter)
    return OutputRows(rows[keep], lines, cells.get(ID_COLUMN), cells)
