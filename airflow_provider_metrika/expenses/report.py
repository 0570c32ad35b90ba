"""What a preparation run produced: the part files, the delete file, and a report with counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Row numbers kept per warning as examples.
MAX_WARNING_ROWS = 5


@dataclass(frozen=True)
class ExpensesPart:
    """One CSV file ready for upload (the attribute names of the orders core's part).

    :param path: the file.
    :param sha256: hex SHA-256 of the file.
    :param rows: data rows in it (the header not counted).
    :param bytes: file size, header included.
    :param rows_without_id: always 0: expenses rows have no identifier.
    """

    path: Path
    sha256: str
    rows: int
    bytes: int
    rows_without_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the part as a JSON-serialisable dict."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "rows": self.rows,
            "bytes": self.bytes,
            "rows_without_id": self.rows_without_id,
        }


@dataclass(frozen=True)
class ExpensesWarning:
    """Rows sent that may not work as the user expects.

    :param kind: what it is about, e.g. ``campaign_spellings``.
    :param count: rows concerned.
    :param message: what happens to them.
    :param fix: what to do, if anything.
    :param rows: the first row numbers concerned.
    """

    kind: str
    count: int
    message: str
    fix: str
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        """Return the warning as one log line."""
        counted = "1 row" if self.count == 1 else f"{self.count:,} rows"
        more = ", ..." if self.count > len(self.rows) else ""
        label = "row" if len(self.rows) == 1 and not more else "rows"
        shown = f" ({label} {', '.join(map(str, self.rows))}{more})" if self.rows else ""
        return f"{counted}{shown}: {self.message}. Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        """Return the warning as a JSON-serialisable dict."""
        return {
            "kind": self.kind,
            "count": self.count,
            "message": self.message,
            "fix": self.fix,
            "rows": list(self.rows),
        }


@dataclass(frozen=True)
class ExpensesReport:
    """Counts of one run; ``rows_read == rows_written`` unless the run failed (then nothing is written).

    :param rows_read: data rows in the input.
    :param rows_written: rows in the parts.
    :param dates: every day the input covers (ranges expanded), or every day of ``date_range=``,
        sorted, ``YYYY-MM-DD``: the days the delete file clears.
    :param totals: ``YYYY-MM-DD`` -> expenses that day, a range's amount spread evenly over its days
        (as Metrika spreads it), all currencies added; days of ``date_range=`` without rows read 0.
    :param currency: the ``Currency`` codes written (empty: the counter's currency).
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
            ("currency", ", ".join(sorted(self.currency)) or "the counter's"),
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
