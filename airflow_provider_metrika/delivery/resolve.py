"""
Resolve a task instance's delivery journal from outside the task: show it, forget it, or ask for one re-send.

A person runs these where ``airflow`` commands run (they need the metadata database):

- ``show``: the records (accepted and still-open sends) and the plan of a task instance;
- ``forget``: drop them, after checking in Metrika that an uncertain upload is stored: a later
  Clear (or a task marked success by hand, then cleared) sends everything again;
- ``resend``: let the next try send again, once, the parts whose earlier send is unresolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_metrika.delivery.journal import UploadRecord
from airflow_provider_metrika.delivery.task_journal import (
    DOCUMENT_PREFIX,
    RECORD_PREFIX,
    VARIABLE_DOCUMENT_PREFIX,
    variable_entries,
    variable_name,
)

#: The document that asks the next try to send unresolved parts again, once.
RESEND_DOCUMENT = "force_resend"


@dataclass(frozen=True)
class TaskInstanceKey:
    """Which task instance's journal: its DAG, run, task and map index."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def command(self, verb: str) -> str:
        """Return the shell command that runs ``verb`` on this journal."""
        index = f" --map-index {self.map_index}" if self.map_index != -1 else ""
        return (
            f"python -m airflow_provider_metrika.delivery {verb} --dag-id {self.dag_id} "
            f"--run-id '{self.run_id}' --task-id {self.task_id}{index}"
        )


def _store_rows(key: TaskInstanceKey) -> dict[str, Any] | None:
    """Return the task state store entries of ours (Airflow 3.3+), or None without a store."""
    try:
        from airflow.models.task_state_store import TaskStateStoreModel
    except ImportError:
        return None
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskStateStoreModel.key, TaskStateStoreModel.value).where(
                TaskStateStoreModel.dag_id == key.dag_id,
                TaskStateStoreModel.run_id == key.run_id,
                TaskStateStoreModel.task_id == key.task_id,
                TaskStateStoreModel.map_index == key.map_index,
            )
        ).all()
    entries = {}
    for name, value in rows:
        if name.startswith((RECORD_PREFIX, DOCUMENT_PREFIX)):
            try:
                entries[name] = json.loads(value)
            except ValueError:
                entries[name] = value
    return entries


def read_journal(key: TaskInstanceKey) -> dict[str, Any]:
    """Return a journal: ``{"where": ..., "records": [...], "documents": {...}}``."""
    rows = _store_rows(key)
    records: list[UploadRecord] = []
    documents: dict[str, Any] = {}
    if rows is not None:
        where = "task_state_store"
        for name, value in rows.items():
            if name.startswith(RECORD_PREFIX) and (record := UploadRecord.from_json(value)) is not None:
                records.append(record)
            elif name.startswith(DOCUMENT_PREFIX):
                documents[name.removeprefix(DOCUMENT_PREFIX)] = value
    else:
        where = f"Variable {variable_name(key.dag_id, key.run_id, key.task_id, key.map_index)}"
        for name, value in _variable_entries(key).items():
            if name.startswith(VARIABLE_DOCUMENT_PREFIX):
                documents[name.removeprefix(VARIABLE_DOCUMENT_PREFIX)] = value
            elif (record := UploadRecord.from_json(value)) is not None:
                records.append(record)
    return {"where": where, "records": [r.to_json() for r in records], "documents": documents}


def forget(key: TaskInstanceKey) -> int:
    """Drop the journal of a task instance; return how many records it held."""
    held = len(read_journal(key)["records"])
    if _store_rows(key) is not None:
        from airflow.models.task_state_store import TaskStateStoreModel
        from airflow.utils.session import create_session
        from sqlalchemy import delete

        with create_session() as session:
            session.execute(
                delete(TaskStateStoreModel).where(
                    TaskStateStoreModel.dag_id == key.dag_id,
                    TaskStateStoreModel.run_id == key.run_id,
                    TaskStateStoreModel.task_id == key.task_id,
                    TaskStateStoreModel.map_index == key.map_index,
                    TaskStateStoreModel.key.startswith("metrika_"),
                )
            )
    else:
        from airflow.models import Variable

        Variable.delete(variable_name(key.dag_id, key.run_id, key.task_id, key.map_index))
    return held


def request_resend(key: TaskInstanceKey) -> None:
    """Let the next try of the task instance send its unresolved parts again, once."""
    document = {"requested_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if _store_rows(key) is not None:
        _store_set(key, DOCUMENT_PREFIX + RESEND_DOCUMENT, document)
        return
    from airflow.models import Variable

    entries = _variable_entries(key)
    entries[VARIABLE_DOCUMENT_PREFIX + RESEND_DOCUMENT] = document
    Variable.set(variable_name(key.dag_id, key.run_id, key.task_id, key.map_index), json.dumps(entries))


def _store_set(key: TaskInstanceKey, name: str, value: dict[str, Any]) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select

    with create_session() as session:
        run_pk = session.scalar(
            select(DagRun.id).where(DagRun.dag_id == key.dag_id, DagRun.run_id == key.run_id)
        )
        if run_pk is None:
            raise SystemExit(f"No DAG run {key.run_id!r} of DAG {key.dag_id!r} in this metadata database")
        session.execute(
            delete(TaskStateStoreModel).where(
                TaskStateStoreModel.dag_run_id == run_pk,
                TaskStateStoreModel.task_id == key.task_id,
                TaskStateStoreModel.map_index == key.map_index,
                TaskStateStoreModel.key == name,
            )
        )
        session.add(
            TaskStateStoreModel(
                dag_run_id=run_pk,
                dag_id=key.dag_id,
                run_id=key.run_id,
                task_id=key.task_id,
                map_index=key.map_index,
                key=name,
                value=json.dumps(value),
            )
        )


def _variable_entries(key: TaskInstanceKey) -> dict[str, Any]:
    from airflow.models import Variable

    name = variable_name(key.dag_id, key.run_id, key.task_id, key.map_index)
    return variable_entries(Variable.get(name, default_var=None))
