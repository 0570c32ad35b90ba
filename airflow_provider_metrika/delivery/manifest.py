"""
The manifest: the plan of one upload, fixed by its first attempt and checked by every later one.

A retry re-reads its source, and sources move between tries (a late order at the top of a table
shifts every part cut by size). The manifest records what the first attempt planned to send, part
by part, so a later attempt either sends exactly those bytes (from the staged copy, when there is
one), or sees the difference and refuses before sending, naming what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

#: The journal document holding the manifest.
MANIFEST_DOCUMENT = "manifest"
_FORMAT = 1


@dataclass(frozen=True)
class PlannedPart:
    """
    One part of an upload.

    :param position: its place in the upload, from 1.
    :param sha256: the hex SHA-256 of its bytes.
    :param rows: its data rows, when known.
    :param rows_without_id: rows without an order ``id`` (sending them twice duplicates them).
    :param bytes: its size.
    :param staged: where a copy of its bytes is kept for later attempts (a path or URI), if anywhere.
    """

    position: int
    sha256: str
    rows: int | None
    rows_without_id: int
    bytes: int
    staged: str | None = None

    def same_content(self, other: PlannedPart) -> bool:
        """Tell whether two plans of a part carry the same bytes at the same place."""
        return (self.position, self.sha256) == (other.position, other.sha256)


@dataclass(frozen=True)
class Manifest:
    """
    The plan of one upload.

    :param destination: :meth:`Destination.key` of where it goes and how it is applied.
    :param parts: the parts, in order.
    :param attempt: the attempt that planned it.
    """

    destination: str
    parts: tuple[PlannedPart, ...]
    attempt: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Data rows in all parts."""
        return sum(part.rows or 0 for part in self.parts)

    @property
    def staged(self) -> bool:
        """Tell whether every part has a staged copy."""
        return bool(self.parts) and all(part.staged for part in self.parts)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as JSON-compatible data."""
        return {
            "format": _FORMAT,
            "destination": self.destination,
            "attempt": self.attempt,
            "parts": [asdict(part) for part in self.parts],
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest | None:
        """Read a manifest written by :meth:`to_json`; None for anything else."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        try:
            parts = tuple(PlannedPart(**part) for part in data["parts"])
            return cls(str(data["destination"]), parts, str(data["attempt"]), dict(data.get("extra") or {}))
        except (KeyError, TypeError, ValueError):
            return None

    def differences(self, other: Manifest) -> list[str]:
        """
        Say how ``other`` (a later attempt's plan) differs from this one; empty when it does not.

        :param other: the plan re-derived from the source by a later attempt.
        """
        found: list[str] = []
        if other.destination != self.destination:
            found.append("the destination (API host, counter, merge mode or delimiter) changed")
        if len(other.parts) != len(self.parts):
            found.append(f"{len(self.parts)} parts were planned, now {len(other.parts)}")
        if other.rows != self.rows:
            found.append(f"{self.rows:,} rows were planned, now {other.rows:,}")
        changed = [
            str(mine.position)
            for mine, theirs in zip(self.parts, other.parts, strict=False)
            if not mine.same_content(theirs)
        ]
        if changed:
            found.append(f"the bytes of part(s) {_some(changed)} changed")
        return found


def describe_parts(parts: Sequence[PlannedPart]) -> str:
    """Name parts by position, e.g. ``1, 2 and 3``."""
    return _some([str(part.position) for part in parts])


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:10])
    return shown + (f" and {len(items) - 10} more" if len(items) > 10 else "")
