"""
The delivery journal: what was about to be sent, what Metrika accepted, and the plan of the upload.

Metrika has no idempotency key, so the engine gives every part one (:func:`part_key`) and writes
two records around every POST: ``sending`` (with the file name, unique to that one POST, the time
and the attempt that sent it) before the request, ``accepted`` (with Metrika's uploading) after the
answer. Beside them it keeps the :class:`~airflow_provider_metrika.delivery.manifest.Manifest`, the
plan fixed by the first attempt. The journal decides nothing; :mod:`.engine` applies the rules.
Where the journal lives decides what it survives: :class:`MemoryUploadJournal` lasts one object;
the operator's (:mod:`.task_journal`) lasts across task tries, on any worker.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

#: The upload was about to be sent (or was sent) and no answer has been recorded.
SENDING = "sending"
#: Metrika answered the upload with an uploading.
ACCEPTED = "accepted"
#: Metrika refused these bytes with a verdict (a 4xx other than a quota answer): nothing stored.
REJECTED = "rejected"

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def upload_key(
    base_url: str, counter_id: int, merge_mode: str, delimiter_type: str, content_sha256: str
) -> str:
    """
    Return the key of a file by where it goes, how it is applied and what it carries.

    This is the key of records written before parts had a place in their upload; the engine still
    reads it (:meth:`PartIdentity.legacy_key`) so that a retry after an upgrade resolves them.

    :param base_url: the API base URL.
    :param counter_id: the counter.
    :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND``.
    :param delimiter_type: ``COMMA`` or ``SEMICOLON``.
    :param content_sha256: the hex SHA-256 of the file's bytes.
    """
    destination = "\n".join(
        [base_url.rstrip("/").lower(), str(counter_id), merge_mode, delimiter_type, content_sha256]
    )
    return hashlib.sha256(destination.encode()).hexdigest()


def part_key(destination_key: str, owner: str, position: int, content_sha256: str) -> str:
    """
    Return the key of one part: where it goes, who sends it, its place in the upload, its bytes.

    Two byte-identical parts of one upload have two keys; the same part of another task instance
    (another run, task or map index) has another key.

    :param destination_key: :meth:`Destination.key` of where the upload goes and how it is applied.
    :param owner: who sends the upload (a task instance's identity, or a caller's name).
    :param position: the part's place in the upload, from 1.
    :param content_sha256: the hex SHA-256 of the part's bytes.
    """
    text = "\n".join(["part", destination_key, owner, str(position), content_sha256])
    return hashlib.sha256(text.encode()).hexdigest()


def unique_upload_name(filename: str, key: str) -> str:
    """
    Return a file name for one POST: the caller's stem, the key's start, and a random tag.

    Two POSTs never share a name, so an uploading titled with it can only be that POST's.

    :param filename: the name the caller gave (``orders-00001.csv``).
    :param key: the part key.
    """
    stem = filename[:-4] if filename.lower().endswith(".csv") else filename
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._") or "orders"
    return f"{stem[:80]}-{key[:10]}-{secrets.token_hex(5)}.csv"


@dataclass(frozen=True)
class UploadRecord:
    """
    One journal entry.

    :param state: :data:`SENDING`, :data:`ACCEPTED` or :data:`REJECTED`.
    :param name: the file name of the POST, unique to it.
    :param sent_at: when the POST started (UTC, ISO 8601).
    :param rows: the file's data rows, when known.
    :param counter_id: the counter it was sent to.
    :param uploading: Metrika's uploading object, once accepted.
    :param attempt: the attempt (task try, or hook call) that sent it; None in records of older
        versions, which count as an earlier attempt.
    """

    state: str
    name: str
    sent_at: str
    rows: int | None
    counter_id: int
    uploading: dict[str, Any] | None = None
    attempt: str | None = None

    @classmethod
    def sending(
        cls, name: str, rows: int | None, counter_id: int, attempt: str | None = None
    ) -> UploadRecord:
        """Return the record written just before a POST."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(SENDING, name, now, rows, counter_id, attempt=attempt)

    def accepted(self, uploading: dict[str, Any]) -> UploadRecord:
        """Return this record once Metrika answered with ``uploading``."""
        return replace(self, state=ACCEPTED, uploading=uploading)

    def rejected(self) -> UploadRecord:
        """Return this record once Metrika refused the bytes with a verdict (nothing stored)."""
        return replace(self, state=REJECTED)

    @property
    def sent_at_datetime(self) -> datetime:
        """When the POST started, as an aware UTC datetime."""
        return datetime.fromisoformat(self.sent_at).astimezone(UTC)

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON-compatible data."""
        data = asdict(self)
        if data["attempt"] is None:
            del data["attempt"]
        return data

    @classmethod
    def from_json(cls, data: Any) -> UploadRecord | None:
        """Read a record written by :meth:`to_json` (of this or an older version); None for anything else."""
        if not isinstance(data, dict) or data.get("state") not in (SENDING, ACCEPTED, REJECTED):
            return None
        try:
            return cls(
                state=str(data["state"]),
                name=str(data["name"]),
                sent_at=str(data["sent_at"]),
                rows=None if data.get("rows") is None else int(data["rows"]),
                counter_id=int(data["counter_id"]),
                uploading=data.get("uploading") if isinstance(data.get("uploading"), dict) else None,
                attempt=None if data.get("attempt") is None else str(data["attempt"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class UploadJournal(Protocol):
    """Where upload records are kept; durable journals survive the process that wrote them."""

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of a key, if any."""

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the key's record (replacing any)."""

    def delete(self, key: str) -> None:
        """Drop the key's record (nothing was stored: the request was refused)."""


class DeliveryJournal(UploadJournal, Protocol):
    """A journal that also keeps documents: the manifest of an upload, notes for a later try."""

    def read_document(self, name: str) -> dict[str, Any] | None:
        """Return the JSON document kept under ``name``, if any."""

    def write_document(self, name: str, document: dict[str, Any]) -> None:
        """Keep a JSON document under ``name`` (replacing any)."""

    def clear(self) -> None:
        """Drop every record and document (the upload is done)."""


class MemoryUploadJournal:
    """A journal that lasts as long as the object: one hook call, or a script's loop."""

    def __init__(self) -> None:
        self._records: dict[str, UploadRecord] = {}
        self._documents: dict[str, dict[str, Any]] = {}

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of a key, if any."""
        return self._records.get(key)

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the key's record."""
        self._records[key] = record

    def delete(self, key: str) -> None:
        """Drop the key's record."""
        self._records.pop(key, None)

    def read_document(self, name: str) -> dict[str, Any] | None:
        """Return the document kept under ``name``, if any."""
        return self._documents.get(name)

    def write_document(self, name: str, document: dict[str, Any]) -> None:
        """Keep a document under ``name``."""
        self._documents[name] = document

    def clear(self) -> None:
        """Drop every record and document."""
        self._records.clear()
        self._documents.clear()

    def items(self) -> list[tuple[str, UploadRecord]]:
        """Return the records kept, with their keys."""
        return list(self._records.items())
