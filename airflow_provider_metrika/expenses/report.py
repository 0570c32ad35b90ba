"""What a preparation run produced: the part files, the delete file, and a report with counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_metrika.parts import RowsWarning, UploadPart

#: A part file of this core (the engine's attribute names).
ExpensesPart = UploadPart
#: A warning about rows sent.
ExpensesWarning = RowsWarning

#: Row numbers kept per warning as examples.
MAX_WARNING_ROWS = 5


@dataclass(frozen=True)
class ExpensesReport:
    """Counts of one run; ``rows_read == rows_written`` unless the run failed (then nothing is written).

    :param rows_read: data rows in the input.
    :param rows_written: rows in the parts.
    :param dates: every day the input covers (ranges expanded), or every day of ``date_range=``,
        sorted, ``YYYY-MM-DD``: the days the delete file clears.
    :param totals: ``YYYY-MM-DD`` -> expenses that day, a range's amount spread evenly over its days
        (as Metrika spreads it), all currencies added; days of ``date_range=`` without rows read 0.
    :param currency: the ``Currency`` codes written; ``""`` for rows without one (the counter's).
    :param warnings: what was sent but may not work as expected.
    :param columns: the columns written, in order.
    :param rows_rejected: rows refused (the run then fails and writes nothing).
    :param rejected_by_reason: ``"column: reason"`` -> rows with that problem.
    """

    rows_read: int = 0
    rows_written: int = 0
    dates: list[str] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    currency: set[str] = field(default_factory=set)
    warnings: list[ExpensesWarning] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable dict (for XCom)."""
        return {
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "dates": list(self.dates),
            "totals": dict(self.totals),
            "currency": sorted(self.currency),
            "warnings": [warning.to_dict() for warning in self.warnings],
            "columns": list(self.columns),
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
        }

    def as_text(self) -> str:
        """Return a short aligned summary for a task log."""
        span = f"{self.dates[0]} .. {self.dates[-1]} ({len(self.dates)} days)" if self.dates else "-"
        pairs = [
            ("rows read", f"{self.rows_read:,}"),
            ("rows written", f"{self.rows_written:,}"),
            ("columns", ", ".join(self.columns) or "-"),
            ("days", span),
            ("total", f"{sum(self.totals.values()):,.2f}"),
            ("currency", ", ".join(code or "the counter's" for code in sorted(self.currency)) or "-"),
        ]
        if self.rows_rejected:
            pairs.append(("rows refused", f"{self.rows_rejected:,}"))
        width = max(len(label) for label, _ in pairs)
        lines = ["Expenses:", *(f"  {label.ljust(width)}  {value}" for label, value in pairs)]
        if self.rejected_by_reason:
            lines.append("Refused rows by reason:")
            lines += [f"  {count:,} x {reason}" for reason, count in self.rejected_by_reason.items()]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  {warning.describe()}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class PreparedExpenses:
    """The part files to upload, the report, and the file that clears this provider's days first.

    :param parts: the CSV files, each at most ``max_part_bytes``.
    :param report: counts, days, totals and warnings.
    :param delete_part: a CSV of ``Date`` rows, one per day in ``report.dates``, for Metrika's delete
        call; None only when there are no days.
    """

    parts: list[ExpensesPart]
    report: ExpensesReport
    delete_part: ExpensesPart | None

    def to_dict(self) -> dict[str, Any]:
        """Return parts, report and delete file as a JSON-serialisable dict (for XCom)."""
        return {
            "parts": [part.to_dict() for part in self.parts],
            "report": self.report.to_dict(),
            "delete_part": None if self.delete_part is None else self.delete_part.to_dict(),
        }
