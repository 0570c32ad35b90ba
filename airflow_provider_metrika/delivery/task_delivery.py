"""One task instance's delivery: the engine with its journal, the plan, and the archive of its parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from airflow_provider_metrika.arguments import read_flag
from airflow_provider_metrika.delivery.engine import DeliveryEngine, UploadEndpoint
from airflow_provider_metrika.delivery.manifest import Manifest, PlannedPart
from airflow_provider_metrika.delivery.resolve import RESEND_DOCUMENT, TaskInstanceKey
from airflow_provider_metrika.exceptions import MetrikaUploadUncertainError

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal


class PreparedPart(Protocol):
    """A part file a kind's core wrote: where it is, its bytes' hash and its counts."""

    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def rows_without_id(self) -> int: ...
    @property
    def bytes(self) -> int: ...


def task_key(context: Context) -> TaskInstanceKey:
    """Return the task instance a context runs, as the resolve command names it."""
    ti = context["ti"]
    return TaskInstanceKey(ti.dag_id, ti.run_id, ti.task_id, -1 if ti.map_index is None else ti.map_index)


class TaskDelivery:
    """
    Plan, then send, a task's parts through the delivery engine, keeping an archive when asked.

    :param hook: the hook that sends.
    :param endpoint: the upload kind and destination.
    :param journal: the task's journal.
    :param context: the task's context.
    :param force_resend: the operator's ``force_resend`` (rendered); a resend command asks once too.
    :param archive_path: where to keep the parts sent and their manifest, or None.
    :param about: what the manifest says of the destination (counter, options), JSON-serialisable.
    :param log: the task's log.
    """

    def __init__(
        self,
        hook: Any,
        endpoint: UploadEndpoint,
        journal: TaskUploadJournal,
        context: Context,
        *,
        force_resend: bool | str,
        archive_path: str | None,
        about: dict[str, Any],
        log: Any,
    ) -> None:
        self.key = task_key(context)
        self.endpoint = endpoint
        self.journal = journal
        self.log = log
        self.about = about
        self.try_number = context["ti"].try_number
        self.resolve_hint = f"run `{self.key.command('forget')}` and mark the task success"
        self.engine = DeliveryEngine.through(
            hook,
            endpoint,
            journal,
            owner=journal.owner,
            attempt=journal.attempt,
            force_resend=self._force_resend(force_resend),
            force_hint=f"run `{self.key.command('resend')}` and clear the task",
            resolve_hint=self.resolve_hint,
            stage_hint="give archive_path=",
        )
        self.folder = None
        if archive_path:
            from airflow_provider_metrika.delivery.archive import archive_folder

            k = self.key
            self.folder = archive_folder(str(archive_path), k.dag_id, k.run_id, k.task_id, k.map_index)
        self._files: dict[int, tuple[Path, str]] = {}

    def plan(
        self, parts: Sequence[PreparedPart], *, fresh: bool = False, extra: dict[str, Any] | None = None
    ) -> Manifest:
        """Return the plan to send: the first try's when it stands, else these parts (staged first).

        :param fresh: plan these parts whatever an earlier try planned.
        :param extra: what the kind keeps with the plan for later tries.
        """
        from airflow_provider_metrika.delivery.archive import stage_parts

        self.log.info("Upload records of this task are kept in %s", self.journal.where)
        self._files = {n: (part.path, part.sha256) for n, part in enumerate(parts, start=1)}
        planned = [
            PlannedPart(n, part.sha256, part.rows, part.rows_without_id, part.bytes)
            for n, part in enumerate(parts, start=1)
        ]
        folder = self.folder
        paths = {n: f[0] for n, f in self._files.items()}
        stage = (lambda chosen: stage_parts(folder, chosen, paths)) if folder is not None else None
        return self.engine.plan(planned, stage=stage, fresh=fresh, extra=extra)

    def deliver(
        self,
        manifest: Manifest,
        workdir: Path,
        after_part: Callable[[PlannedPart, dict[str, Any]], Any] | None,
    ) -> list[dict[str, Any]]:
        """Send the plan's parts not accepted yet; write the archive's manifest; return the uploads.

        :param after_part: called with each part and its upload before the next part goes.
        """
        from airflow_provider_metrika.delivery.archive import part_opener, write_manifest

        opener = part_opener(self._files, workdir, self.resolve_hint)
        uploadings = self.engine.deliver(manifest, opener, after_part)
        if self.folder is not None:
            about = {
                **self.about,
                "api": urlparse(getattr(self.endpoint, "base_url", "")).netloc,
                "task_instance": {
                    "dag_id": self.key.dag_id,
                    "run_id": self.key.run_id,
                    "task_id": self.key.task_id,
                    "map_index": self.key.map_index,
                    "try_number": self.try_number,
                },
            }
            self.log.info(
                "Parts sent and their manifest are kept in %s",
                write_manifest(self.folder, manifest, uploadings, about),
            )
        return uploadings

    def _force_resend(self, flag: bool | str) -> bool:
        """Return whether this try may re-send earlier tries' unresolved parts (a command asks once)."""
        requested = self.journal.read_document(RESEND_DOCUMENT)
        if requested:
            self.log.warning(
                "A re-send of unresolved parts was asked for at %s: this try sends them again once",
                requested.get("requested_at"),
            )
            self.journal.write_document(RESEND_DOCUMENT, {})
            return True
        return read_flag("force_resend", flag)


def sent_as_prepared(manifest: Manifest, parts: Sequence[PreparedPart]) -> bool:
    """Tell whether a plan is this try's own parts (not a first try's staged ones)."""
    return [p.sha256 for p in manifest.parts] == [p.sha256 for p in parts]


def refuse_unresolved_completion(journal: TaskUploadJournal, context: Context) -> None:
    """Stop, before anything is read or sent, a try cleared after an earlier try finished unrecorded.

    :raises MetrikaUploadUncertainError: (no retry) when the journal holds an earlier generation's
        completion: whether that try succeeded (send again) or failed after its uploads (skip them)
        cannot be told, and guessing would send twice or leave Metrika stale.
    """
    done = journal.completed_before_clear()
    if done is None:
        return
    key = task_key(context)
    raise MetrikaUploadUncertainError(
        f"The task was cleared after try {done.get('try_number')} finished uploading at {done.get('at')} "
        f"UTC, and its delivery records ({journal.where}) were not dropped by a recorded success: that "
        "try either succeeded and the clean-up after it did not run, or failed after its uploads were "
        "accepted (a post_execute, an XCom push, the end of the worker). Nothing was sent. To send "
        f"everything again: `{key.command('forget')}`, then Clear the task. To keep what that try sent: "
        f"mark the task success. `{key.command('show')}` prints the records."
    )
