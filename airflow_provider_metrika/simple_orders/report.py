"""What a preparation run produced: the part files and a report for logs and XCom."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_metrika.simple_orders.columns import MAX_EXAMPLES
from airflow_provider_metrika.simple_orders.errors import RowProblem
from airflow_provider_metrika.simple_orders.notices import OrdersWarning

#: Problems shown per reason in :meth:`OrdersReport.as_text`.
_TEXT_EXAMPLES = 5


@dataclass(frozen=True)
class OrdersPart:
    """One CSV file ready for upload.

    :param path: the file.
    :param rows: data rows in it (the header not counted).
    :param bytes: file size, header included.
    :param sha256: hex SHA-256 of the file.
    :param rows_without_id: rows with an empty ``id`` (Metrika cannot update those later).
    """

    path: Path
    rows: int
    bytes: int
    sha256: str
    rows_without_id: int

    def to_dict(self) -> dict[str, Any]:
        """Return the part as a JSON-serialisable dict."""
        return {
            "path": str(self.path),
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "rows_without_id": self.rows_without_id,
        }


@dataclass(frozen=True)
class OrdersReport:
    """Counts and examples of one run: ``rows_read == rows_written + rows_rejected + duplicates_dropped``.

    :param rows_read: data rows in the input.
    :param rows_written: rows in the parts.
    :param rows_rejected: rows refused by validation (in ``rejects.csv`` with ``on_invalid="skip"``).
    :param rejected_by_reason: ``"column: reason"`` -> rows with that problem (a row may have several).
    :param examples: the first problems, in input order, PII masked.
    :param duplicate_ids: ids found in more than one valid row.
    :param duplicates_dropped: earlier rows of a repeated id left out by ``duplicates="keep_last"``.
    :param dropped_columns: input columns not written (``unknown_columns="drop"``).
    :param columns: the columns written, in order.
    :param status_counts: written rows per order status; empty statuses count as ``"PAID (default)"``.
    :param revenue_by_currency: revenue of written rows per currency (``"RUB"`` for empty), as decimal text.
    :param goal_counts: written rows per goal identifier named in ``goals``, most frequent first.
    :param rejects_path: the rejects file, if rows were rejected with ``on_invalid="skip"``.
    :param timezone: the counter's zone, in which ``create_date_time`` was written.
    :param source_timezone: the zone naive input timestamps were read in.
    :param warnings: rows sent that will not work as expected in Metrika (domestic phones, statuses
        read as goal ids, orders past the 21-day linking window), with counts and the fixing argument.
    :param changed_only: rows were compared with a sync state; then ``rows_written`` counts the new
        and changed ones, and ``rows_read == rows_written + rows_rejected + duplicates_dropped +
        orders_unchanged``.
    :param orders_new: rows whose key the state did not hold.
    :param orders_changed: rows whose key the state held with another fingerprint.
    :param orders_unchanged: rows equal to what the state holds: counted, not written.
    :param orders_by_date: orders written per creation date (the counter's time zone) and status
        (statuses as in ``status_counts``); each written row is one distinct order, a row without
        ``id`` too (Metrika keeps it as an order of its own).
    :param orders_held_by_date: the same for the orders Metrika should hold for those dates after
        this run as far as the input says: the written ones plus, with ``changed_only``, the unchanged
        ones (sent by earlier runs); equal to ``orders_by_date`` otherwise.
    :param orders_without_id_by_date: written rows without ``id`` per creation date (in the counts above).
    """

    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    examples: list[RowProblem] = field(default_factory=list)
    duplicate_ids: int = 0
    duplicates_dropped: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    revenue_by_currency: dict[str, str] = field(default_factory=dict)
    goal_counts: dict[str, int] = field(default_factory=dict)
    rejects_path: Path | str | None = None
    timezone: str | None = None
    source_timezone: str | None = None

    def zones_text(self) -> str:
        """Say in which zones dates were read and written."""
        if self.timezone is None:
            return "-"
        if self.source_timezone in (None, self.timezone):
            return f"written in {self.timezone} (the counter's); naive input read in it too"
        return f"written in {self.timezone} (the counter's); naive input read in {self.source_timezone}"

    warnings: list[OrdersWarning] = field(default_factory=list)
    changed_only: bool = False
    orders_new: int = 0
    orders_changed: int = 0
    orders_unchanged: int = 0
    orders_by_date: dict[str, dict[str, int]] = field(default_factory=dict)
    orders_held_by_date: dict[str, dict[str, int]] = field(default_factory=dict)
    orders_without_id_by_date: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable dict (for XCom)."""
        return {
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "examples": [problem.to_dict() for problem in self.examples[:MAX_EXAMPLES]],
            "duplicate_ids": self.duplicate_ids,
            "duplicates_dropped": self.duplicates_dropped,
            "dropped_columns": list(self.dropped_columns),
            "columns": list(self.columns),
            "status_counts": dict(self.status_counts),
            "revenue_by_currency": dict(self.revenue_by_currency),
            "goal_counts": dict(self.goal_counts),
            "rejects_path": None if self.rejects_path is None else str(self.rejects_path),
            "timezone": self.timezone,
            "source_timezone": self.source_timezone,
            "warnings": [warning.to_dict() for warning in self.warnings],
            "changed_only": self.changed_only,
            "orders_new": self.orders_new,
            "orders_changed": self.orders_changed,
            "orders_unchanged": self.orders_unchanged,
            "orders_by_date": {day: dict(counts) for day, counts in self.orders_by_date.items()},
            "orders_held_by_date": {day: dict(counts) for day, counts in self.orders_held_by_date.items()},
            "orders_without_id_by_date": dict(self.orders_without_id_by_date),
        }

    def _changes_text(self) -> list[tuple[str, str]]:
        if not self.changed_only:
            return []
        return [
            ("new orders", str(self.orders_new)),
            ("changed orders", str(self.orders_changed)),
            ("unchanged (skipped)", str(self.orders_unchanged)),
        ]

    def as_text(self) -> str:
        """Return a short aligned summary for a task log; emails and phones in examples are masked."""
        if self.rows_read == 0:
            return "Simplified orders: the input has no rows; nothing to upload."
        counts = [
            ("rows read", str(self.rows_read)),
            ("rows written", str(self.rows_written)),
            ("rows rejected", str(self.rows_rejected)),
            ("duplicates dropped", str(self.duplicates_dropped)),
            *self._changes_text(),
            ("columns", ", ".join(self.columns)),
            ("order statuses", _pairs(self.status_counts)),
            ("revenue", _pairs(self.revenue_by_currency)),
            ("dates", self.zones_text()),
        ]
        if self.goal_counts:
            counts.insert(-2, ("goals column", _pairs(self.goal_counts)))
        if self.dropped_columns:
            counts.append(("dropped columns", ", ".join(self.dropped_columns)))
        if self.rejects_path is not None:
            counts.append(("rejected rows in", str(self.rejects_path)))
        width = max(len(label) for label, _ in counts)
        lines = ["Simplified orders:", *(f"  {label.ljust(width)}  {value}" for label, value in counts)]
        lines += _rejections_text(self.rejected_by_reason, self.examples)
        if self.warnings:
            lines.append("Warnings (rows are sent, but will not work as expected):")
            lines += [f"  {warning.describe()}" for warning in self.warnings]
        return "\n".join(lines)


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "-"


def _rejections_text(by_reason: dict[str, int], examples: list[RowProblem]) -> list[str]:
    if not by_reason:
        return []
    width = max(len(str(count)) for count in by_reason.values())
    lines = ["Rejected rows by reason:"]
    lines += [f"  {str(count).rjust(width)}  {reason}" for reason, count in by_reason.items()]
    lines.append("First problems:")
    lines += [f"  {problem.describe()}" for problem in examples[:_TEXT_EXAMPLES]]
    return lines


@dataclass(frozen=True)
class PreparedOrders:
    """The part files to upload, in order, and the report of the run.

    :param parts: the CSV files, each at most ``max_part_bytes``.
    :param report: counts, examples and totals.
    :param sent_orders: with a sync state, the file of the keys and fingerprints written (see
        :class:`~airflow_provider_metrika.simple_orders.sync_state.SentOrders`), to record in the
        state once Metrika accepted the parts.
    """

    parts: list[OrdersPart]
    report: OrdersReport
    sent_orders: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return parts and report as a JSON-serialisable dict (for XCom)."""
        return {"parts": [part.to_dict() for part in self.parts], "report": self.report.to_dict()}


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
