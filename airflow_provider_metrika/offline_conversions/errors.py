"""Exceptions raised while preparing offline conversions or calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_metrika.simple_orders.errors import RowProblem

if TYPE_CHECKING:
    from airflow_provider_metrika.offline_conversions.report import ConversionsReport


class ConversionsInputError(ValueError):
    """The input as a whole cannot be sent: missing or unknown columns, identifier choice, types, no rows."""


class EmptyConversionsError(ConversionsInputError):
    """The input has no data rows: Metrika refuses a file without any, so there is nothing to upload."""


class InvalidConversionsError(ValueError):
    """Rows failed validation; no part file was left behind.

    :param summary: first line of the message: what happened, with counts.
    :param problems: the first problems found, in input order, customer values masked.
    :param report: the report of the run (counts only).
    :param hint: how to fix it, appended after the problems.
    """

    def __init__(
        self, summary: str, problems: list[RowProblem], report: ConversionsReport, hint: str
    ) -> None:
        lines = [summary, *(f"  {problem.describe()}" for problem in problems), hint]
        super().__init__("\n".join(lines))
        self.summary = summary
        self.hint = hint
        self.problems = problems
        self.report = report
