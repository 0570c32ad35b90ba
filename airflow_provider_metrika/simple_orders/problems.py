"""Collect row problems per batch as vector masks, and keep counts and first examples across batches."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import MAX_EXAMPLES
from airflow_provider_metrika.simple_orders.errors import RowProblem
from airflow_provider_metrika.simple_orders.masking import mask_value

#: Column name used for problems of a whole row rather than one cell.
ROW_COLUMN = "identifiers"


def _as_mask(mask: np.ndarray | pa.Array) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    return mask.fill_null(False).to_numpy(zero_copy_only=False)


@dataclass
class BatchProblems:
    """Problems of one batch: for each (column, reason), a mask of the rows that have it.

    :param rows: number of rows in the batch.
    """

    rows: int
    entries: list[tuple[str, str, np.ndarray]] = field(default_factory=list)

    def add(self, column: str, reason: str, mask: np.ndarray | pa.Array) -> None:
        """Record that the rows in ``mask`` have ``reason`` in ``column``.

        :param column: Metrika column name, or :data:`ROW_COLUMN`.
        :param reason: the reason text, phrased to follow the value.
        :param mask: one flag per row of the batch.
        """
        flags = _as_mask(mask)
        if flags.any():
            self.entries.append((column, reason, flags))

    def invalid(self) -> np.ndarray:
        """Return a mask of rows with at least one problem."""
        result = np.zeros(self.rows, dtype=bool)
        for _, _, flags in self.entries:
            result |= flags
        return result

    def reasons_text(self, rows: np.ndarray) -> pa.Array:
        """Return, for the given row indices, all their reasons joined with ``; ``.

        :param rows: indices of rows in the batch.
        """
        parts = [
            pc.if_else(pa.array(flags[rows]), pa.scalar(f"{column}: {reason}"), pa.scalar(None, pa.string()))
            for column, reason, flags in self.entries
        ]
        if not parts:
            return pa.array([""] * len(rows), pa.string())
        return pc.binary_join_element_wise(*parts, "; ", null_handling="skip")


def cell_text(array: pa.Array, index: int) -> str:
    """Return one input cell as text, for reports and error messages.

    :param array: the input column.
    :param index: row index in the column.
    """
    value = array[index].as_py()
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join("" if item is None else str(item) for item in value)
    return str(value)


@dataclass
class ProblemLog:
    """Counts of rejected rows and problems by reason, and the first problems in input order."""

    rows_rejected: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    examples: list[RowProblem] = field(default_factory=list)

    def record(
        self,
        problems: BatchProblems,
        first_row: int,
        shown: Callable[[str, int], str],
        mask: Callable[[str, str], str] = mask_value,
    ) -> None:
        """Add one batch's problems.

        :param problems: the batch's problems.
        :param first_row: 1-based input row number of the batch's first row.
        :param shown: returns the display text of (column, row index) before masking.
        :param mask: masks (value, column) for display; the orders rule by default.
        """
        if not problems.entries:
            return
        self.rows_rejected += int(problems.invalid().sum())
        for column, reason, flags in problems.entries:
            self.by_reason[f"{column}: {reason}"] += int(flags.sum())
        room = MAX_EXAMPLES - len(self.examples)
        if room <= 0:
            return
        found = [
            (int(index), order, column, reason)
            for order, (column, reason, flags) in enumerate(problems.entries)
            for index in np.flatnonzero(flags)[:room]
        ]
        for index, _, column, reason in sorted(found)[:room]:
            value = mask(shown(column, index), column)
            self.examples.append(RowProblem(first_row + index, column, reason, value))
