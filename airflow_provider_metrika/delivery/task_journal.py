"""The delivery journal of one task instance, kept by Airflow so that it outlives the worker."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.delivery.journal import UploadRecord

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Prefix of the record keys in the task state store (Airflow 3.3+).
RECORD_PREFIX = "metrika_upload_"
#: Prefix of the document keys in the task state store.
DOCUMENT_PREFIX = "metrika_doc_"
#: Prefix of document entries inside the Variable (Airflow < 3.3).
VARIABLE_DOCUMENT_PREFIX = "doc:"
#: The document an ``execute`` writes when it has finished: which try, in which generation of tries.
COMPLETED_DOCUMENT = "completed"
#: ``retention`` of the store's entries: they live as long as the DAG run (Airflow's ``NEVER_EXPIRE``).
NEVER_EXPIRE = timedelta.max


@dataclass(frozen=True)
class Generation:
    """Which series of tries a try belongs to: a Clear starts a new one, a retry does not.

    A Clear raises the task instance's ``max_tries`` to its try number plus its retries and, when
    it resets the DAG run, the run's ``clear_number``; a retry changes neither.

    :param max_tries: the task instance's ``max_tries`` as the try saw it.
    :param clear_number: the DAG run's ``clear_number`` as the try saw it (None where not known).
    """

    max_tries: int | None
    clear_number: int | None

    @classmethod
    def of(cls, context: Context) -> Generation:
        """Return the generation of the try that runs with ``context``."""
        ti = context["ti"]
        dag_run = context.get("dag_run")
        max_tries = getattr(ti, "max_tries", None)
        clear_number = getattr(dag_run, "clear_number", None)
        return cls(
            None if max_tries is None else int(max_tries),
            None if clear_number is None else int(clear_number),
        )


def variable_entries(raw: str | None) -> dict[str, Any]:
    """Read the entries of a journal Variable's value; an absent or damaged value holds none."""
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def variable_name(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """Return the name of the Variable that holds a task instance's journal below Airflow 3.3."""
    return f"metrika_upload_journal__{dag_id}__{run_id}__{task_id}__{map_index}"


def task_owner(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """Return a task instance's identity, the owner part of its part keys."""
    return f"{dag_id}\n{run_id}\n{task_id}\n{map_index}"


class TaskUploadJournal:
    """
    Upload records and documents of one task instance (dag, run, task, map index), across its tries.

    Records live in Airflow's metadata database, never on the worker, so a retry on another
    worker (Celery, Kubernetes) reads what the killed try wrote. On Airflow 3.3+ they are entries
    of the task instance's ``task_state_store``, written to never expire (they go with the DAG run);
    older versions have no such store, and there they are one Airflow Variable named after the task
    instance. ``execute`` never drops them: it ends with :meth:`mark_completed`, and they are dropped
    only once Airflow has recorded the success (:func:`drop_records_on_success`, or the store's
    ``clear_on_success``), so a try that fails after ``execute`` returned is retried as a retry.

    The Variable is read once per instance, and not at all when a task instance's first try starts:
    no earlier try can have written it, and Airflow logs a lookup of a missing Variable at error
    level ("Variable not found"), which does not belong in the log of a successful run. A try that
    resumes after a deferral (``resumed``) reads it: its own start wrote it.

    :param context: the task's execution context.
    :param resumed: the try resumes after a deferral (``execute_complete``).
    """

    def __init__(self, context: Context, *, resumed: bool = False) -> None:
        self._store: Any = context.get("task_state_store")
        ti = context["ti"]
        map_index = -1 if ti.map_index is None else int(ti.map_index)
        self.owner = self.owner_of(context)
        self.attempt = f"try-{ti.try_number}"
        self.try_number = int(ti.try_number)
        self.generation = Generation.of(context)
        self._variable_key = variable_name(ti.dag_id, ti.run_id, ti.task_id, map_index)
        first_start = getattr(ti, "try_number", None) == 1 and not resumed
        #: The Variable's entries as last read or written; None until read.
        self._entries: dict[str, Any] | None = {} if first_start else None

    @staticmethod
    def owner_of(context: Context) -> str:
        """Return the identity of the task instance that runs with ``context`` (across its tries)."""
        ti = context["ti"]
        return task_owner(ti.dag_id, ti.run_id, ti.task_id, -1 if ti.map_index is None else int(ti.map_index))

    @property
    def where(self) -> str:
        """Say where the records are kept, for the log."""
        return "task_state_store" if self._store is not None else f"Variable {self._variable_key}"

    def read(self, key: str) -> UploadRecord | None:
        """Return the record of a key, if any."""
        if self._store is not None:
            return UploadRecord.from_json(self._store.get(RECORD_PREFIX + key))
        return UploadRecord.from_json(self._variable().get(key))

    def write(self, key: str, record: UploadRecord) -> None:
        """Keep ``record`` as the key's record."""
        self._put(RECORD_PREFIX + key, key, record.to_json())

    def delete(self, key: str) -> None:
        """Drop the key's record."""
        if self._store is not None:
            self._store.delete(RECORD_PREFIX + key)
            return
        entries = self._variable()
        if entries.pop(key, None) is not None:
            self._save(entries)

    def read_document(self, name: str) -> dict[str, Any] | None:
        """Return the document kept under ``name``, if any."""
        if self._store is not None:
            value = self._store.get(DOCUMENT_PREFIX + name)
        else:
            value = self._variable().get(VARIABLE_DOCUMENT_PREFIX + name)
        return value if isinstance(value, dict) else None

    def write_document(self, name: str, document: dict[str, Any]) -> None:
        """Keep a document under ``name``."""
        self._put(DOCUMENT_PREFIX + name, VARIABLE_DOCUMENT_PREFIX + name, document)

    def mark_completed(self) -> None:
        """Record that this try's ``execute`` finished: what it sent stays recorded until success."""
        self.write_document(
            COMPLETED_DOCUMENT,
            {
                "try_number": self.try_number,
                "max_tries": self.generation.max_tries,
                "clear_number": self.generation.clear_number,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )

    def completed_before_clear(self) -> dict[str, Any] | None:
        """Return the completion an earlier generation of tries left, if this try follows a Clear.

        A completion of this generation means a retry after ``execute`` returned (a ``post_execute``,
        an XCom push or the end of the process failed): accepted parts are skipped as on any retry.
        One of an earlier generation means the task was cleared after a try whose ``execute``
        finished, and whose records Airflow's success did not drop: it may have succeeded (records
        left by a lost clean-up) or failed after ``execute`` (its uploads stand), which no record
        tells apart.
        """
        done = self.read_document(COMPLETED_DOCUMENT)
        if not done or int(done.get("try_number") or 0) >= self.try_number:
            return None
        earlier = Generation(done.get("max_tries"), done.get("clear_number"))
        if earlier == self.generation:
            return None
        return done

    def clear(self) -> None:
        """Drop every record and document of this task instance (Airflow recorded its success)."""
        if self._store is not None:
            self._store.clear()
            return
        from airflow.sdk import Variable

        with suppress(Exception):  # a missing Variable is fine: nothing to forget
            Variable.delete(self._variable_key)
        self._entries = {}

    def _put(self, store_key: str, variable_key: str, value: dict[str, Any]) -> None:
        if self._store is not None:
            # Never the store's default retention: a routine clean-up must not drop the guard while
            # the task instance can still be retried or cleared.
            self._store.set(store_key, value, retention=NEVER_EXPIRE)
            return
        entries = self._variable()
        entries[variable_key] = value
        self._save(entries)

    def _variable(self) -> dict[str, Any]:
        if self._entries is not None:
            return dict(self._entries)
        from airflow.sdk import Variable

        self._entries = variable_entries(Variable.get(self._variable_key, default=None))
        return dict(self._entries)

    def _save(self, entries: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        Variable.set(self._variable_key, json.dumps(entries))
        self._entries = dict(entries)


def drop_records_on_success(context: Context) -> None:
    """Drop a task instance's records once Airflow has recorded its success (an ``on_success_callback``).

    Airflow runs success callbacks after the try's success is recorded, so a Clear afterwards sends
    everything again. Should this not run (the worker dies in between), the records stay with the
    completion mark and the next Clear stops with the commands that resolve it
    (:meth:`TaskUploadJournal.completed_before_clear`), never sending twice.

    :param context: the finished try's context.
    """
    TaskUploadJournal(context, resumed=True).clear()
