"""Delivering a task's prepared parts through the delivery engine, with the archive of what was sent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow_provider_metrika.arguments import read_flag
from airflow_provider_metrika.delivery.resolve import RESEND_DOCUMENT, TaskInstanceKey
from airflow_provider_metrika.exceptions import MetrikaUploadUncertainError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.manifest import Manifest
    from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal
    from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
    from airflow_provider_metrika.simple_orders import PreparedOrders


def deliver_parts(
    task: SimpleOrdersUploadOperator,
    context: Context,
    counter: int,
    merge_mode: str,
    prepared: PreparedOrders,
    journal: TaskUploadJournal,
    workdir: Path,
) -> tuple[Manifest, list[dict[str, Any]]]:
    """Plan the parts (the first try's plan stands), then send those not accepted yet."""
    from airflow_provider_metrika.delivery.manifest import PlannedPart
    from airflow_provider_metrika.hooks.simple_orders_endpoint import SimpleOrdersEndpoint
    from airflow_provider_metrika.operators.archive import archive_folder, part_opener, stage_parts

    ti = context["ti"]
    key = TaskInstanceKey(ti.dag_id, ti.run_id, ti.task_id, -1 if ti.map_index is None else ti.map_index)
    endpoint = SimpleOrdersEndpoint(task.hook, counter, merge_mode, task.delimiter_type)
    resolve_hint = f"run `{key.command('forget')}` and mark the task success"
    engine = task.hook.delivery_engine(
        endpoint,
        journal,
        owner=journal.owner,
        attempt=journal.attempt,
        force_resend=_force_resend(task, journal),
        force_hint=f"run `{key.command('resend')}` and clear the task",
        resolve_hint=resolve_hint,
    )
    task.log.info("Upload records of this task are kept in %s", journal.where)
    files = {n: (part.path, part.sha256) for n, part in enumerate(prepared.parts, start=1)}
    planned = [
        PlannedPart(n, part.sha256, part.rows, part.rows_without_id, part.bytes)
        for n, part in enumerate(prepared.parts, start=1)
    ]
    folder = (
        archive_folder(str(task.archive_path), key.dag_id, key.run_id, key.task_id, key.map_index)
        if task.archive_path
        else None
    )
    stage = (
        (lambda parts: stage_parts(folder, parts, {n: f[0] for n, f in files.items()})) if folder else None
    )
    manifest = engine.plan(planned, stage=stage)
    uploadings = engine.deliver(manifest, part_opener(files, workdir, resolve_hint))
    if folder is not None:
        from airflow_provider_metrika.operators.archive import write_manifest

        about = {
            "counter_id": counter,
            "api": urlparse(endpoint.base_url).netloc,
            "merge_mode": merge_mode,
            "delimiter_type": task.delimiter_type,
            "task_instance": {
                "dag_id": key.dag_id,
                "run_id": key.run_id,
                "task_id": key.task_id,
                "map_index": key.map_index,
                "try_number": ti.try_number,
            },
        }
        task.log.info(
            "Parts sent and their manifest are kept in %s",
            write_manifest(folder, manifest, uploadings, about),
        )
    return manifest, uploadings


def refuse_unresolved_completion(journal: TaskUploadJournal, context: Context) -> None:
    """Stop, before anything is read or sent, a try cleared after an earlier try finished unrecorded.

    :raises MetrikaUploadUncertainError: (no retry) when the journal holds an earlier generation's
        completion: whether that try succeeded (send again) or failed after its uploads (skip them)
        cannot be told, and guessing would send twice or leave Metrika stale.
    """
    done = journal.completed_before_clear()
    if done is None:
        return
    ti = context["ti"]
    key = TaskInstanceKey(ti.dag_id, ti.run_id, ti.task_id, -1 if ti.map_index is None else ti.map_index)
    raise MetrikaUploadUncertainError(
        f"The task was cleared after try {done.get('try_number')} finished uploading at {done.get('at')} "
        f"UTC, and its delivery records ({journal.where}) were not dropped by a recorded success: that "
        "try either succeeded and the clean-up after it did not run, or failed after its uploads were "
        "accepted (a post_execute, an XCom push, the end of the worker). Nothing was sent. To send "
        f"everything again: `{key.command('forget')}`, then Clear the task. To keep what that try sent: "
        f"mark the task success. `{key.command('show')}` prints the records."
    )


def _force_resend(task: SimpleOrdersUploadOperator, journal: TaskUploadJournal) -> bool:
    """Return whether this try may re-send earlier tries' unresolved parts (a command asks once)."""
    requested = journal.read_document(RESEND_DOCUMENT)
    if requested:
        task.log.warning(
            "A re-send of unresolved parts was asked for at %s: this try sends them again once",
            requested.get("requested_at"),
        )
        journal.write_document(RESEND_DOCUMENT, {})
        return True
    return read_flag("force_resend", task.force_resend)
