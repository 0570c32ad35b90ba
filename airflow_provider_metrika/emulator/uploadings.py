"""Uploading records and how ``last_uploadings`` shows them as time passes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from airflow_provider_metrika.emulator.constants import STATUS_FAILED, STATUS_IN_PROGRESS

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def format_datetime(moment: datetime) -> str:
    """Format a UTC moment the way Metrika does, to the second.

    :param moment: an aware UTC datetime.
    """
    return moment.astimezone(UTC).strftime(_DATETIME_FORMAT)


def parse_datetime_offset(text: str) -> datetime:
    """Parse a ``datetime_offset`` query value as UTC.

    :param text: ``YYYY-MM-DDTHH:MM:SSZ``, ``YYYY-MM-DDTHH:MM:SS`` or ``YYYY-MM-DD HH:MM:SS``.
    :raises ValueError: when it is none of these.
    """
    for pattern in _OFFSET_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class Uploading:
    """One accepted upload as Metrika lists it, plus what the emulator knows about it.

    :param sequence: creation order across the emulator; breaks ties within one second.
    :param created_at: UTC creation moment, full precision; the API shows it to the second.
    :param status: the final validation status, ``PASSED`` or ``FAILED``.
    :param elements_count: data rows in the file.
    :param title: the uploaded part's file name.
    :param errors: validation problems, shown only when the status is ``FAILED``.
    :param details: emulator-only facts (merge mode, file hash, duplicate ids...), never sent by the API.
    :param held: not listed until the test releases it (created under ``hold_listing``).
    """

    sequence: int
    created_at: datetime
    status: str
    elements_count: int
    title: str
    errors: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)
    uploading_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    held: bool = False

    @property
    def datetime_text(self) -> str:
        """Return the creation moment as Metrika shows it."""
        return format_datetime(self.created_at)

    def to_api(self, status: str | None = None, *, with_title: bool = True) -> dict[str, object]:
        """Render the object the API returns.

        :param status: the status to show instead of the final one, e.g. ``IN_PROGRESS``.
        :param with_title: include ``uploading_title`` (the uploaded file's name).
        """
        shown = status or self.status
        body: dict[str, object] = {
            "uploading_id": self.uploading_id,
            "datetime": self.datetime_text,
            "api_validation_status": shown,
            "elements_count": self.elements_count,
            "entity_type": "SYSTEM",
            "uploading_format": "CSV",
            "uploading_source": "API",
        }
        if with_title:
            body["uploading_title"] = self.title
        if shown == STATUS_FAILED:
            body["api_validation_errors"] = list(self.errors)
        return body

    def to_control(self) -> dict[str, object]:
        """Render the final object plus the emulator-only details, for the control API."""
        return {**self.to_api(), "sequence": self.sequence, "details": dict(self.details)}


def list_visible(
    uploadings: Iterable[Uploading],
    *,
    now: datetime,
    listing_delay: float,
    status_delay: float,
    older_than: datetime | None,
    limit: int,
    with_titles: bool = True,
) -> list[dict[str, object]]:
    """Select and render what ``last_uploadings`` answers, newest first.

    :param uploadings: all uploadings of a counter.
    :param now: the current UTC moment.
    :param listing_delay: seconds after creation before an uploading is listed.
    :param status_delay: seconds after being listed during which the status reads ``IN_PROGRESS``.
    :param older_than: keep only uploadings whose shown datetime is strictly older, if given.
    :param limit: at most this many.
    :param with_titles: include each ``uploading_title``.
    """
    shown: list[dict[str, object]] = []
    for uploading in sorted(uploadings, key=lambda u: u.sequence, reverse=True):
        age = (now - uploading.created_at).total_seconds()
        if uploading.held or age < listing_delay:
            continue
        # Compare at second precision: that is all a client can send back as the offset.
        if older_than is not None and uploading.created_at.replace(microsecond=0) >= older_than:
            continue
        status = STATUS_IN_PROGRESS if age < listing_delay + status_delay else None
        shown.append(uploading.to_api(status, with_title=with_titles))
        if len(shown) >= limit:
            break
    return shown
