"""Which parts an upload task already delivered, kept across the task's tries."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context

_KEY_PREFIX = "metrika_part_"


class UploadLedger:
    """
    Remember, per part content (sha256), the uploading that Metrika accepted for it.

    A retry of the task prepares the same parts again; a part already accepted in an earlier try
    is then not sent twice. On Airflow 3.3+ entries live in the task instance's
    ``task_state_store`` (kept across tries, dropped with the run). Older versions have no such
    store: there the ledger is an Airflow Variable named after the task instance, deleted once
    the task succeeds.

    :param context: the task's execution context.
    """

    def __init__(self, context: Context) -> None:
        self._store: Any = context.get("task_state_store")
        self._variable_key: str | None = None
        if self._store is None:
            ti = context["ti"]
            self._variable_key = (
                f"metrika_upload_ledger__{ti.dag_id}__{ti.run_id}__{ti.task_id}__{ti.map_index}"
            )

    @property
    def durable(self) -> bool:
        """Tell whether entries survive a retry through the task state store (Airflow 3.3+)."""
        return self._store is not None

    def accepted(self, sha256: str) -> dict[str, Any] | None:
        """
        Return the uploading Metrika accepted for a part in an earlier try, if any.

        :param sha256: the part's content hash.
        """
        if self._store is not None:
            value = self._store.get(_KEY_PREFIX + sha256)
        else:
            value = self._variable().get(sha256)
        return value if isinstance(value, dict) else None

    def record(self, sha256: str, uploading: dict[str, Any]) -> None:
        """
        Remember that Metrika accepted a part.

        :param sha256: the part's content hash.
        :param uploading: Metrika's uploading object for it.
        """
        if self._store is not None:
            self._store.set(_KEY_PREFIX + sha256, uploading)
            return
        from airflow.sdk import Variable

        entries = self._variable()
        entries[sha256] = uploading
        assert self._variable_key is not None
        Variable.set(self._variable_key, json.dumps(entries))

    def forget_all(self) -> None:
        """Drop the ledger after success (only the Variable fallback needs it)."""
        if self._variable_key is None:
            return
        from airflow.sdk import Variable

        with suppress(Exception):  # a missing Variable is fine: nothing to forget
            Variable.delete(self._variable_key)

    def _variable(self) -> dict[str, Any]:
        from airflow.sdk import Variable

        assert self._variable_key is not None
        raw = Variable.get(self._variable_key, default=None)
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return parsed if isinstance(parsed, dict) else {}
