"""Offline conversions and calls through the delivery engine: each POST tagged with a unique comment.

Metrika echoes an upload's ``comment`` in every status and list object, so the engine's name of a
POST, reduced to letters and digits, finds that upload again after a lost answer, never by time or
count. Re-sending conversions is harmless (Metrika overwrites a row sent again); re-sending calls
is not (Metrika documents no de-duplication of calls).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_metrika.constants import offline_conversions_endpoint
from airflow_provider_metrika.delivery.commented import CommentTaggedEndpoint, comment_of
from airflow_provider_metrika.delivery.manifest import PlannedPart

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

#: The two kinds: name -> (what a row is, the upload call's path under ``offline_conversions/``).
CONVERSIONS: Final = "offline_conversions"
CALLS: Final = "calls"


class OfflineDataEndpoint(CommentTaggedEndpoint):
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
        listing = (
            hook.list_offline_conversions_uploadings if kind == CONVERSIONS else hook.list_calls_uploadings
        )
        super().__init__(counter_id, listing)
        self.hook = hook
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

    def resend_is_harmless(self, part: PlannedPart) -> bool:
        """Conversions: Metrika overwrites a row sent again. Calls: never (no documented de-duplication)."""
        return self.kind == CONVERSIONS

    def replaces_what_it_changes(self, part: PlannedPart) -> bool:
        """Never: a conversion with another time, or any call, is stored beside the earlier one."""
        return False
