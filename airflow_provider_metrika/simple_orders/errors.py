"""The input error of the orders core, and the row problem its reports and errors carry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RowProblem:
    """One problem found in one input cell.

    :param row: 1-based number of the data row in the input (the header is not counted).
    :param column: Metrika column name (after ``columns=`` renames), or ``identifiers`` for a row problem.
    :param reason: what is wrong, phrased to follow the value.
    :param value: the offending value, with emails and phones masked.
    """

    row: int
    column: str
    reason: str
    value: str

    def describe(self) -> str:
        """Return the problem as one log line: ``row 12, column emails: "m***@x.ru" is not ...``."""
        return f'row {self.row}, column {self.column}: "{self.value}" {self.reason}'

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-serialisable dict."""
        return asdict(self)


class OrdersInputError(ValueError):
    """The input as a whole cannot be read: empty file, missing or unknown columns, bad types."""
