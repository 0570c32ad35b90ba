"""Offline conversions and calls through the delivery engine: each POST tagged with a unique comment.

Metrika echoes an upload's ``comment`` in every status and list object, so the engine's name of a
POST, reduced to letters and digits, finds that upload again after a lost answer, never by time or
count. Re-sending conversions is harmless (Metrika overwrites a row sent again); re-sending calls
is not (Metrika documents no de-duplication of calls).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_metrika.constants import offline_conversions_endpoint
from airflow_provider_metrika.delivery.manifest import PlannedPart

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

#: The two kinds: name -> (what a row is, the upload call's path under ``offline_conversions/``).
CONVERSIONS: Final = "offline_conversions"
CALLS: Final = "calls"
#: Uploadings read per page while looking for a comment (Metrika's largest page), and pages at most:
#: the list's order is not documented, so the search never stops on dates, only at the list's end.
SEARCH_PAGE = 10_000
SEARCH_PAGES = 10
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def comment_of(name: str) -> str:
    """Return the comment a POST named ``name`` carries: its letters and digits (unique as the name is)."""
    return _NOT_ALNUM.sub("", name)[:255]


class OfflineDataEndpoint:
    """
    ``POST .../offline_conversions/upload`` (or ``upload_calls``) of one counter.

    :param hook: the hook that makes the requests.
    :param counter_id: the counter.
    :param kind: :data:`CONVERSIONS` or :data:`CALLS`.
    :param client_id_type: the file's identifier type (conversions: sent with the upload).
    :param new_goal_name: calls: the name of the calls goal, when the counter has none yet.
    """

    where_listed = "Metrika's offline conversions page, or the hook's list of uploadings"
    resend_fix = "send calls only from a source that does not move between tries"

    def __init__(
        self,
        hook: MetrikaHook,
        counter_id: int,
        kind: str,
        client_id_type: str,
        new_goal_name: str | None = None,
    ) -> None:
        self.hook = hook
        self.counter_id = counter_id
        self.kind = kind
        self.client_id_type = client_id_type
        self.new_goal_name = new_goal_name
        self.base_url = hook.base_url_checked
        self.row_noun = "conversions" if kind == CONVERSIONS else "calls"
        self.resend_harm = (
            "Metrika documents no de-duplication of calls, so a second copy would count every call twice"
            if kind == CALLS
            else "a conversion sent again overwrites the first"
        )
        # Conversions send their identifier type with the upload; calls do not (Metrika reads the column).
        where = [kind, self.base_url.rstrip("/").lower(), str(counter_id)]
        text = "\n".join([*where, client_id_type] if kind == CONVERSIONS else where)
        self.destination_key = hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        """Name the destination for messages."""
        return f"counter {self.counter_id} ({self.row_noun})"

    def request_name(self) -> str:
        """Name the request for retry log lines."""
        call = "upload" if self.kind == CONVERSIONS else "upload_calls"
        return f"POST {offline_conversions_endpoint(self.counter_id, call)}"

    def file_name(self, part: PlannedPart) -> str:
        """Return the name a part is sent under, before the engine's unique tag."""
        return f"{self.row_noun}-{part.position:05d}.csv"

    def post(self, file: Any, name: str) -> dict[str, Any]:
        """Send one part, tagged with the comment of ``name``."""
        comment = comment_of(name)
        if self.kind == CONVERSIONS:
            return self.hook.post_offline_conversions(
                self.counter_id, file, client_id_type=self.client_id_type, comment=comment, file_name=name
            )
        return self.hook.post_calls(
            self.counter_id, file, comment=comment, new_goal_name=self.new_goal_name, file_name=name
        )

    def find_titled(self, name: str, since: datetime) -> dict[str, Any] | None:
        """Return the upload whose comment is ``name``'s, or None; pages back through the list."""
        comment = comment_of(name)
        listing = (
            self.hook.list_offline_conversions_uploadings
            if self.kind == CONVERSIONS
            else self.hook.list_calls_uploadings
        )
        for page in range(SEARCH_PAGES):
            uploadings = listing(self.counter_id, limit=SEARCH_PAGE, offset=page * SEARCH_PAGE)
            for uploading in uploadings:
                if uploading.get("comment") == comment:
                    return uploading
            if len(uploadings) < SEARCH_PAGE:
                return None
        return None

    def resend_is_harmless(self, part: PlannedPart) -> bool:
        """Conversions: Metrika overwrites a row sent again. Calls: never (no documented de-duplication)."""
        return self.kind == CONVERSIONS

    def replaces_what_it_changes(self, part: PlannedPart) -> bool:
        """Never: a conversion with another time, or any call, is stored beside the earlier one."""
        return False

    def failed(self, uploading: dict[str, Any]) -> bool:
        """An accepted POST is never a refusal: Metrika answers 400 for a file it refuses."""
        return False

    def uploading_id(self, uploading: dict[str, Any]) -> str:
        """Return the uploading's id."""
        return str(uploading.get("id"))

    def status(self, uploading: dict[str, Any]) -> str:
        """Return the uploading's processing status."""
        return str(uploading.get("status"))

    def errors(self, uploading: dict[str, Any]) -> list[str]:
        """Metrika lists no errors for these uploads (invalid rows are dropped and counted)."""
        return []

    def legacy_key(self, part: PlannedPart) -> str | None:
        """No earlier version sent these kinds."""
        return None
