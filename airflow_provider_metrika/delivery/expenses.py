"""Ad expenses through the delivery engine: a delete of this provider's days, then the upload.

A plan's first part is the delete (a ``Date`` file for ``POST .../expense/delete``), the rest the
upload; both carry this pipeline's ``provider`` and a comment unique to each POST, which finds a
lost request again. Every try repeats the whole replace (the operator first waits until Metrika has
processed whatever earlier tries sent), so records are keyed by try. Within a try, sending the
delete again is harmless (it removes only this provider's rows on those days, before the upload
goes); sending the upload again is not (Metrika may add it to the first), so a lost upload that is
not listed ends the try, and the next try looks for it again before replacing the days anew.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.delivery.commented import CommentTaggedEndpoint, comment_of
from airflow_provider_metrika.delivery.manifest import PlannedPart
from airflow_provider_metrika.hooks.expenses import expense_endpoint

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

#: How a delete part's file is named (the engine adds a tag unique to each POST).
DELETE_STEM = "delete"


class ExpensesEndpoint(CommentTaggedEndpoint):
    """
    ``POST .../expense/delete`` (the plan's first part) and ``POST .../expense/upload`` of one counter.

    :param hook: the hook that makes the requests.
    :param counter_id: the counter.
    :param provider: the pipeline that owns these expenses: every request carries it.
    :param deletes: the positions of the plan's delete parts.
    :param attempt: the try this plan belongs to: every try repeats the whole replace, so its records
        are its own.
    """

    row_noun = "expense rows"
    resend_harm = "Metrika may add an expenses file sent twice to the first copy"
    resend_fix = (
        "re-run the whole replace (delete, then upload) from a source that does not move between tries"
    )
    where_listed = "Metrika's expenses upload page, or MetrikaHook.list_expenses_uploadings"

    def __init__(
        self, hook: MetrikaHook, counter_id: int, provider: str, deletes: frozenset[int], attempt: str
    ) -> None:
        super().__init__(counter_id, hook.list_expenses_uploadings)
        self.hook = hook
        self.provider = provider
        self.deletes = deletes
        self.base_url = hook.base_url_checked
        text = "\n".join(["expenses", self.base_url.rstrip("/").lower(), str(counter_id), provider, attempt])
        self.destination_key = hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        """Name the destination for messages."""
        return f"counter {self.counter_id} (expenses of provider {self.provider!r})"

    def request_name(self) -> str:
        """Name the request for retry log lines."""
        return f"POST {expense_endpoint(self.counter_id, 'upload')} (or delete)"

    def file_name(self, part: PlannedPart) -> str:
        """Name a delete part ``delete-...``, an upload part ``expenses-...``."""
        stem = DELETE_STEM if part.position in self.deletes else "expenses"
        return f"{stem}-{part.position:05d}.csv"

    def post(self, file: Any, name: str) -> dict[str, Any]:
        """Send one part under ``name``: the delete or the upload, with the provider and the comment."""
        comment = comment_of(name)
        if name.startswith(DELETE_STEM):
            return self.hook.post_expenses_delete(
                self.counter_id, file, provider=self.provider, comment=comment, file_name=name
            )
        return self.hook.post_expenses(
            self.counter_id, file, provider=self.provider, comment=comment, file_name=name
        )

    def resend_is_harmless(self, part: PlannedPart) -> bool:
        """A delete: yes (it goes before the plan's uploads). An upload: no (Metrika may add it)."""
        return part.position in self.deletes

    def replaces_what_it_changes(self, part: PlannedPart) -> bool:
        """A delete of other days, yes; an upload cut from a changed source, no (its days may differ)."""
        return part.position in self.deletes
