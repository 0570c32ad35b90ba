"""Exceptions raised while preparing orders, and the row problem they carry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_metrika.simple_orders.report import OrdersReport


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


class InvalidOrdersError(ValueError):
    """Rows failed validation (or ids repeat) and no part files were left behind.

    :param summary: first line of the message: what happened, with counts.
    :param problems: the first problems found, in input order.
    :param report: the report of the run up to the failure.
    :param hint: how to fix it, appended after the problems.
    """

    def __init__(self, summary: str, problems: list[RowProblem], report: OrdersReport, hint: str) -> None:
        lines = [summary, *(f"  {problem.describe()}" for problem in problems), hint]
        super().__init__("\n".join(lines))
        self.summary = summary
        self.hint = hint
        self.problems = problems
        self.report = report

    def with_rejects_at(self, where: str) -> InvalidOrdersError:
        """Return the same error naming ``where`` the rejected rows are kept, in place of the run's file.

        :param where: the kept copy's location, or how to keep one next time.
        """
        path = str(self.report.rejects_path) if self.report.rejects_path is not None else None
        summary = self.summary.replace(path, where) if path else self.summary
        return InvalidOrdersError(summary, self.problems, self.report, self.hint)
