"""What the emulator remembers of offline conversions and calls: stored rows, uploadings, thresholds.

The emulator's model, chosen to be simple and predictable for tests (Metrika documents the
statuses, not their timing nor its matching):

* conversions are keyed by (identifier type, identifier, ``Target``, ``DateTime``): a row sent
  again overwrites the stored one (a new ``Price`` replaces the old); calls are appended, so a
  re-sent call is stored twice (Metrika documents no de-duplication of calls);
* a kept row links unless its identifier is one a test marked unlinked; a static call never links;
* an uploading answers ``UPLOADED`` to its POST and to every read while it is held
  (``hold_processing``, until the test releases it) or younger than ``status_delay``; after that
  the first read (per-id or in a list) shows ``MATCHED`` and later reads the final status:
  ``PROCESSED`` when at least one row linked, else ``LINKAGE_FAILURE`` (so a file of static calls
  only ends ``LINKAGE_FAILURE``, as Metrika documents).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from airflow_provider_metrika.emulator.constants import (
    OFFLINE_LINKAGE_FAILURE,
    OFFLINE_MATCHED,
    OFFLINE_PROCESSED,
    OFFLINE_UPLOADED,
)
from airflow_provider_metrika.emulator.offline_files import OfflineFile
from airflow_provider_metrika.emulator.uploadings import format_datetime

KIND_CONVERSIONS = "conversions"
KIND_CALLS = "calls"
KINDS = (KIND_CONVERSIONS, KIND_CALLS)
#: Uploading ids start here, so that they never look like small row counts in a test's assertion.
_FIRST_ID = 1_000_001


@dataclass
class OfflineUploading:
    """One accepted offline conversions or calls file.

    :param uploading_id: Metrika's int64 id.
    :param kind: ``conversions`` or ``calls``.
    :param created_at: the UTC moment it was accepted.
    :param comment: the ``comment`` query value, echoed in every answer.
    :param client_id_type: the identifier type of its rows.
    :param source_quantity: data rows in the file.
    :param line_quantity: rows kept (the others were dropped).
    :param linked_quantity: kept rows that linked.
    :param static_calls: static calls kept (calls only).
    :param held: stays ``UPLOADED`` until the test releases it.
    :param details: emulator-only facts (file hash, dropped rows), shown by the control API only.
    """

    uploading_id: int
    kind: str
    created_at: datetime
    comment: str
    client_id_type: str
    source_quantity: int
    line_quantity: int
    linked_quantity: int
    static_calls: int = 0
    held: bool = False
    details: dict[str, object] = field(default_factory=dict)
    polls: int = 0
    last_status: str = OFFLINE_UPLOADED

    @property
    def final_status(self) -> str:
        """Return the status processing ends in."""
        return OFFLINE_PROCESSED if self.linked_quantity > 0 else OFFLINE_LINKAGE_FAILURE

    def poll(self, now: datetime, status_delay: float) -> dict[str, object]:
        """Render the uploading for an API read, moving its status on as reads do.

        :param now: the current UTC moment.
        :param status_delay: seconds after creation during which it reads ``UPLOADED``.
        """
        if not self.held and (now - self.created_at).total_seconds() >= status_delay:
            self.polls += 1
            self.last_status = OFFLINE_MATCHED if self.polls == 1 else self.final_status
        return self.to_api()

    def to_api(self) -> dict[str, object]:
        """Render the object Metrika answers, at the status last shown."""
        body: dict[str, object] = {
            "id": self.uploading_id,
            "create_time": format_datetime(self.created_at),
            "source_quantity": self.source_quantity,
            "line_quantity": self.line_quantity,
            "comment": self.comment,
            "client_id_type": self.client_id_type,
            "status": self.last_status,
            # Known once rows are matched; 0 before.
            "linked_quantity": 0 if self.last_status == OFFLINE_UPLOADED else self.linked_quantity,
        }
        if self.kind == KIND_CALLS:
            body["static_calls_quantity"] = self.static_calls
            body["dynamic_calls_quantity"] = self.line_quantity - self.static_calls
        return body

    def to_control(self) -> dict[str, object]:
        """Render the object with its final status and the emulator-only details."""
        return {
            **self.to_api(),
            "final_status": self.final_status,
            "linked_quantity": self.linked_quantity,
            "polls": self.polls,
            "held": self.held,
            "details": dict(self.details),
        }


@dataclass
class CounterOffline:
    """One counter's offline data and the test's settings for it.

    :param thresholds: kind -> the date uploads become available; None: open (the default).
    :param unlinked: identifiers whose rows never link.
    :param dropped: identifiers whose rows are dropped as invalid, as Metrika drops rows by rules of
        its own: kept out of the store and counted (``line_quantity`` below ``source_quantity``).
    :param hold_processing: uploadings made while on stay ``UPLOADED`` until released.
    """

    thresholds: dict[str, date | None] = field(default_factory=lambda: dict.fromkeys(KINDS))
    unlinked: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()
    hold_processing: bool = False
    conversions: dict[tuple[str, str, str, str], dict[str, object]] = field(default_factory=dict)
    calls: list[dict[str, object]] = field(default_factory=list)
    uploadings: dict[str, list[OfflineUploading]] = field(
        default_factory=lambda: {kind: [] for kind in KINDS}
    )

    def newest_first(self, kind: str) -> list[OfflineUploading]:
        """Return the uploadings of a kind, newest first."""
        return list(reversed(self.uploadings[kind]))


def _moment_key(text: str) -> str:
    return str(Decimal(text).normalize())


class OfflineState:
    """Offline conversions and calls of every counter; used on the event loop only."""

    def __init__(self) -> None:
        self._counters: dict[int, CounterOffline] = {}
        self._ids = itertools.count(_FIRST_ID)

    def counter(self, counter_id: int) -> CounterOffline:
        """Return a counter's offline data, creating it empty.

        :param counter_id: the counter.
        """
        return self._counters.setdefault(counter_id, CounterOffline())

    def clear(self) -> None:
        """Forget everything, settings included."""
        self._counters.clear()

    def release(self) -> None:
        """Let every held uploading move on."""
        for counter in self._counters.values():
            for uploadings in counter.uploadings.values():
                for uploading in uploadings:
                    uploading.held = False

    def find(self, counter_id: int, kind: str, uploading_id: int) -> OfflineUploading | None:
        """Return an uploading by id, or None.

        :param counter_id: the counter.
        :param kind: ``conversions`` or ``calls``.
        :param uploading_id: its id.
        """
        uploadings = self.counter(counter_id).uploadings[kind]
        return next((u for u in uploadings if u.uploading_id == uploading_id), None)

    def store(
        self, counter_id: int, kind: str, parsed: OfflineFile, comment: str, details: dict[str, object]
    ) -> OfflineUploading:
        """Store the kept rows of a file and record its uploading.

        :param counter_id: the counter.
        :param kind: ``conversions`` or ``calls``.
        :param parsed: the file, read.
        :param comment: the upload's comment.
        :param details: emulator-only facts to keep with the uploading.
        """
        counter = self.counter(counter_id)
        uploading_id = next(self._ids)
        linked = static = 0
        kept = [row for row in parsed.rows if row[parsed.identifier_column] not in counter.dropped]
        dropped = [(0, "the identifier is one a test marked dropped")] * (len(parsed.rows) - len(kept))
        for row in kept:
            identifier = row[parsed.identifier_column]
            is_static = row.get("StaticCall") == "1"
            static += is_static
            links = identifier not in counter.unlinked and not is_static
            linked += links
            stored = {
                "client_id_type": parsed.client_id_type,
                "identifier": identifier,
                **row,
                "uploading_id": uploading_id,
                "linked": links,
            }
            if kind == KIND_CALLS:
                counter.calls.append(stored)
                continue
            key = (parsed.client_id_type, identifier, row["Target"], _moment_key(row["DateTime"]))
            earlier = counter.conversions.get(key)
            stored["writes"] = 1 if earlier is None else int(str(earlier["writes"])) + 1
            counter.conversions[key] = stored
        uploading = OfflineUploading(
            uploading_id=uploading_id,
            kind=kind,
            created_at=datetime.now(UTC),
            comment=comment,
            client_id_type=parsed.client_id_type,
            source_quantity=parsed.source_quantity,
            line_quantity=len(kept),
            linked_quantity=linked,
            static_calls=static,
            held=counter.hold_processing,
            details={
                **details,
                "dropped": [{"line": n, "reason": r} for n, r in [*parsed.dropped, *dropped]],
            },
        )
        counter.uploadings[kind].append(uploading)
        return uploading
