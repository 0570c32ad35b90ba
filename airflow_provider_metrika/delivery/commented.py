"""What the management API's uploads share as the engine sees them: a comment that finds a lost one.

Offline conversions, calls and expenses are uploaded to ``/management/v1/...``: each answer is an
object with an ``id`` and a ``status``, every status and list object echoes the upload's
``comment``, and a file Metrika refuses is answered 400 (never accepted, then failed). Each POST is
tagged with the letters and digits of the engine's name for it, unique to that POST.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_provider_metrika.delivery.manifest import PlannedPart

#: Uploads read per page while looking for a comment (Metrika's largest page), and pages at most:
#: the list's order is not documented, so the search never stops on dates, only at the list's end.
SEARCH_PAGE = 10_000
SEARCH_PAGES = 10
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def comment_of(name: str) -> str:
    """Return the comment a POST named ``name`` carries: its letters and digits (unique as the name is)."""
    return _NOT_ALNUM.sub("", name)[:255]


class CommentTaggedEndpoint:
    """
    The parts of an :class:`~airflow_provider_metrika.delivery.engine.UploadEndpoint` that every
    management-API upload shares; a kind adds its POST, its naming and its re-send rules.

    :param counter_id: the counter.
    :param listing: one page of the counter's uploads: ``(counter_id, limit=, offset=)`` -> objects.
    """

    def __init__(self, counter_id: int, listing: Callable[..., list[dict[str, Any]]]) -> None:
        self.counter_id = counter_id
        self._listing = listing

    def find_titled(self, name: str, since: datetime) -> dict[str, Any] | None:
        """Return the upload whose comment is ``name``'s, or None; pages through the whole list."""
        comment = comment_of(name)
        for page in range(SEARCH_PAGES):
            uploadings = self._listing(self.counter_id, limit=SEARCH_PAGE, offset=page * SEARCH_PAGE)
            for uploading in uploadings:
                if uploading.get("comment") == comment:
                    return uploading
            if len(uploadings) < SEARCH_PAGE:
                return None
        return None

    def failed(self, uploading: dict[str, Any]) -> bool:
        """An accepted POST is never a refusal: Metrika answers 400 for a file it refuses."""
        return False

    def uploading_id(self, uploading: dict[str, Any]) -> str:
        """Return the upload's id."""
        return str(uploading.get("id"))

    def status(self, uploading: dict[str, Any]) -> str:
        """Return the upload's processing status."""
        return str(uploading.get("status"))

    def errors(self, uploading: dict[str, Any]) -> list[str]:
        """Metrika lists no errors for these uploads (a refused file is answered 400)."""
        return []

    def legacy_key(self, part: PlannedPart) -> str | None:
        """No earlier version sent these kinds."""
        return None
