"""The upload journal of one task instance, kept by Airflow so that it outlives the worker."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.hooks.upload_journal import UploadRecord

if TYPE_CHECKING:
    from airflow.sdk import Context

_KEY_PREFIX = "metrika_upload_"


class TaskUploadJournal:
    """
    Upload records of one task instance (dag, run, task, map index), kept across its tries.

    Records live in Airflow's metadata database, never on the worker, so a retry on another
    worker (Celery, Kubernetes) reads what the killed try wrote. On Airflow 3.3+ they are entries
    of the task instance's ``task_state_store``; older versions have no such store, and there
    they are one Airflow Variable named after the task instance. :meth:`clear` drops them when the
    task succeeds: a cleared or new run sends again, to the destination configured then.

    The Variable is read once per instance, and not at all on the task instance's first try: no
    earlier try can have written it, and Airflow logs a lookup of a missing Variable at error
    level ("Variable not found"), which does not belong in the log of a successful run.

    :param context: the task's execution context.
    """

    def __init__(self, context: Context) -> None:
        self._store: Any = context.get("task_state_store")
        ti = context["ti"]
        self._variable_key = f"metrika_upload_journal__{ti.dag_id}__{ti.run_id}__{ti.task_id}__{ti.map_index}"
        first_try = getattr(ti, "try_number", None) == 1
        #: The Variable's entries as last read or written; None until read.
        self._entries: dict[str, Any] | None = {} if first_try else None

    @property
    def where(self) -> str:
        """Say where the records are kept, for the log."""
        return "task_state_store" if self._store is not None else f"Variable {self._variable_key}"

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of an upload key, if any."""
        if self._store is not None:
            return UploadRecord.from_json(self._store.get(_KEY_PREFIX + key))
        return UploadRecord.from_json(self._variable().get(key))

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the upload key's record."""
        if self._store is not None:
            self._store.set(_KEY_PREFIX + key, record.to_json())
            return
        entries = self._variable()
        entries[key] = record.to_json()
        self._save(entries)

    def delete(self, key: str) -> None:
        """Drop the upload key's record."""
        if self._store is not None:
            self._store.delete(_KEY_PREFIX + key)
            return
        entries = self._variable()
        if entries.pop(key, None) is not None:
            self._save(entries)

    def clear(self) -> None:
        """Drop every record of this task instance (the task succeeded)."""
        if self._store is not None:
            self._store.clear()
            return
        from airflow.sdk import Variable

        with suppress(Exception):  # a missing Variable is fine: nothing to forget
            Variable.delete(self._variable_key)
        self._entries = {}

    def _variable(self) -> dict[str, Any]:
        if self._entries is not None:
            return dict(self._entries)
        from airflow.sdk import Variable

        raw = Variable.get(self._variable_key, default=None)
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        self._entries = parsed if isinstance(parsed, dict) else {}
        return dict(self._entries)

    def _save(self, entries: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(self._variable_key, json.dumps(entries))
        self._entries = dict(entries)
