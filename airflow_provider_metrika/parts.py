"""What every core hands on: a part file ready for upload, and a warning about rows it sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class UploadPart:
    """One CSV file ready for upload (the attribute names the delivery engine plans from).

    :param path: the file.
    :param sha256: hex SHA-256 of the file.
    :param rows: data rows in it (the header not counted).
    :param bytes: file size, header included.
    :param rows_without_id: rows a second copy would add to the first (0 where rows have a key).
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
class RowsWarning:
    """Rows sent that may not work as the user expects, or that were tidied in a way worth knowing.

    :param kind: what it is about, e.g. ``old_rows``.
    :param count: rows concerned.
    :param message: what happens to them.
    :param fix: what to do, if anything.
    :param rows: the first row numbers concerned (never their values).
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
