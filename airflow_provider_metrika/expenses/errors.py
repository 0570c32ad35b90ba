"""Exceptions raised while preparing ad expenses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_metrika.simple_orders.errors import RowProblem

if TYPE_CHECKING:
    from airflow_provider_metrika.expenses.report import ExpensesReport


class ExpensesInputError(ValueError):
    """The input as a whole cannot be sent: missing or unknown columns, bad types, no rows."""


class EmptyExpensesError(ExpensesInputError):
    """The input has no data rows: there is nothing to upload."""


class InvalidExpensesError(ValueError):
    """Rows failed validation; no part file was left behind.

    :param summary: first line of the message: what happened, with counts.
    :param problems: the first problems found, in input order.
    :param report: the report of the run (counts only).
    :param hint: how to fix it, appended after the problems.
    """

    def __init__(self, summary: str, problems: list[RowProblem], report: ExpensesReport, hint: str) -> None:
        lines = [summary, *(f"  {problem.describe()}" for problem in problems), hint]
        super().__init__("\n".join(lines))
        self.summary = summary
        self.hint = hint
        self.problems = problems
        self.report = report
