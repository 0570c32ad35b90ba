"""
The upload journal: what was about to be sent, and what Metrika accepted, by upload key.

Metrika has no idempotency key, so the provider derives one from the destination and the content
(:func:`upload_key`) and writes two records around every POST: ``sending`` (with the file name,
unique to that one POST, and the time) before the request, ``accepted`` (with Metrika's uploading)
after the answer. A later try reads the record first: ``accepted`` is not sent again; ``sending``
is resolved by looking for an uploading titled with that exact name. The journal decides nothing;
:meth:`MetrikaHook.upload_simple_orders` applies the rule. Where the journal lives decides what
it survives: :class:`MemoryUploadJournal` lasts one call; the operator's lasts across task tries.
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

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def upload_key(
    base_url: str, counter_id: int, merge_mode: str, delimiter_type: str, content_sha256: str
) -> str:
    """
    Return the key of one upload: a hash of where it goes, how it is applied, and what it carries.

    The same file sent to another API host, counter, merge mode or delimiter is another upload.

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


def unique_upload_name(filename: str, key: str) -> str:
    """
    Return a file name for one POST of an upload: its own stem, the key's start, and a random tag.

    Two POSTs never share a name, so an uploading titled with it can only be that POST's.

    :param filename: the name the caller gave (``orders-00001.csv``).
    :param key: the upload key.
    """
    stem = filename[:-4] if filename.lower().endswith(".csv") else filename
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._") or "orders"
    return f"{stem[:80]}-{key[:10]}-{secrets.token_hex(5)}.csv"


@dataclass(frozen=True)
class UploadRecord:
    """
    One journal entry.

    :param state: :data:`SENDING` or :data:`ACCEPTED`.
    :param name: the file name of the POST, unique to it.
    :param sent_at: when the POST started (UTC, ISO 8601).
    :param rows: the file's data rows, when known.
    :param counter_id: the counter it was sent to.
    :param uploading: Metrika's uploading object, once accepted.
    """

    state: str
    name: str
    sent_at: str
    rows: int | None
    counter_id: int
    uploading: dict[str, Any] | None = None

    @classmethod
    def sending(cls, name: str, rows: int | None, counter_id: int) -> UploadRecord:
        """Return the record written just before a POST."""
        return cls(SENDING, name, datetime.now(UTC).isoformat(timespec="seconds"), rows, counter_id)

    def accepted(self, uploading: dict[str, Any]) -> UploadRecord:
        """Return this record once Metrika answered with ``uploading``."""
        return replace(self, state=ACCEPTED, uploading=uploading)

    @property
    def sent_at_datetime(self) -> datetime:
        """When the POST started, as an aware UTC datetime."""
        return datetime.fromisoformat(self.sent_at).astimezone(UTC)

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON-compatible data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> UploadRecord | None:
        """Read a record written by :meth:`to_json`; None for anything else."""
        if not isinstance(data, dict) or data.get("state") not in (SENDING, ACCEPTED):
            return None
        try:
            return cls(
                state=str(data["state"]),
                name=str(data["name"]),
                sent_at=str(data["sent_at"]),
                rows=None if data.get("rows") is None else int(data["rows"]),
                counter_id=int(data["counter_id"]),
                uploading=data.get("uploading") if isinstance(data.get("uploading"), dict) else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


class UploadJournal(Protocol):
    """Where upload records are kept; durable journals survive the process that wrote them."""

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of an upload key, if any."""

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the upload key's record (replacing any)."""

    def delete(self, key: str) -> None:
        """Drop the upload key's record (nothing was stored: the request was refused)."""


class MemoryUploadJournal:
    """A journal that lasts as long as the object: one hook call, or a script's loop."""

    def __init__(self) -> None:
        self._records: dict[str, UploadRecord] = {}

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of an upload key, if any."""
        return self._records.get(key)

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the upload key's record."""
        self._records[key] = record

    def delete(self, key: str) -> None:
        """Drop the upload key's record."""
        self._records.pop(key, None)

    def items(self) -> list[tuple[str, UploadRecord]]:
        """Return the records kept, with their keys."""
        return list(self._records.items())
