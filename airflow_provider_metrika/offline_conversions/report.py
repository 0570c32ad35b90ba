"""What a preparation run produced: the part files, and a report for logs and XCom with counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_metrika.parts import RowsWarning, UploadPart

#: A part file of this core (the engine's attribute names).
ConversionsPart = UploadPart
#: A warning about rows sent.
ConversionsWarning = RowsWarning

#: Row numbers kept per warning as examples.
MAX_WARNING_ROWS = 5


@dataclass(frozen=True)
class ConversionsReport:
    """Counts of one run; ``rows_read == rows_written`` unless the run failed (then nothing is written).

    :param kind: ``conversions`` or ``calls``.
    :param rows_read: data rows in the input.
    :param rows_written: rows in the parts.
    :param client_id_type: the identifier type sent: CLIENT_ID, USER_ID, YCLID or PURCHASE_ID.
    :param targets: written rows per ``Target`` (calls: empty).
    :param first_time: the earliest ``DateTime`` written, ISO 8601 UTC to the second; None without rows.
    :param last_time: the latest one.
    :param rows_older_than_window: rows more than 21 days before the preparation: they will not link.
    :param static_calls: calls with ``StaticCall=1`` (Metrika never links them; conversions: 0).
    :param warnings: what was sent but will not work as expected, or was tidied (trimmed, normalised).
    :param columns: the columns written, in order.
    :param rows_rejected: rows refused (the run then fails and writes nothing).
    :param rejected_by_reason: ``"column: reason"`` -> rows with that problem.
    :param timezone: the zone naive times were read in.
    """

    kind: str
    rows_read: int = 0
    rows_written: int = 0
    client_id_type: str | None = None
    targets: dict[str, int] = field(default_factory=dict)
    first_time: str | None = None
    last_time: str | None = None
    rows_older_than_window: int = 0
    static_calls: int = 0
    warnings: list[ConversionsWarning] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable dict (for XCom): counts, no customer values."""
        return {
            "kind": self.kind,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "client_id_type": self.client_id_type,
            "targets": dict(self.targets),
            "first_time": self.first_time,
            "last_time": self.last_time,
            "rows_older_than_window": self.rows_older_than_window,
            "static_calls": self.static_calls,
            "warnings": [warning.to_dict() for warning in self.warnings],
            "columns": list(self.columns),
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "timezone": self.timezone,
        }

    def as_text(self) -> str:
        """Return a short aligned summary for a task log."""
        title = "Offline conversions" if self.kind == "conversions" else "Calls"
        pairs = [
            ("rows read", f"{self.rows_read:,}"),
            ("rows written", f"{self.rows_written:,}"),
            ("identifier", self.client_id_type or "-"),
            ("columns", ", ".join(self.columns) or "-"),
            ("times (UTC)", f"{self.first_time} .. {self.last_time}" if self.first_time else "-"),
            ("older than 21 days", f"{self.rows_older_than_window:,}"),
        ]
        if self.kind == "conversions":
            pairs.insert(4, ("targets", ", ".join(f"{k} {v:,}" for k, v in self.targets.items()) or "-"))
        else:
            pairs.append(("static calls", f"{self.static_calls:,}"))
        if self.rows_rejected:
            pairs.append(("rows refused", f"{self.rows_rejected:,}"))
        width = max(len(label) for label, _ in pairs)
        lines = [f"{title}:", *(f"  {label.ljust(width)}  {value}" for label, value in pairs)]
        if self.rejected_by_reason:
            lines.append("Refused rows by reason:")
            lines += [f"  {count:,} x {reason}" for reason, count in self.rejected_by_reason.items()]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  {warning.describe()}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class PreparedConversions:
    """The part files to upload, in order, and the report of the run.

    :param parts: the CSV files, each at most ``max_part_bytes``.
    :param report: counts and warnings.
    """

    parts: list[ConversionsPart]
    report: ConversionsReport

    def to_dict(self) -> dict[str, Any]:
        """Return parts and report as a JSON-serialisable dict (for XCom)."""
        return {"parts": [part.to_dict() for part in self.parts], "report": self.report.to_dict()}
