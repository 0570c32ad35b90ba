"""The base of every Metrika upload operator: inputs, delivery, archive, wait, changed-only sync, XCom."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlparse

from airflow_provider_metrika._compat import AirflowSkipException, BaseOperator, XComArg
from airflow_provider_metrika.arguments import read_flag
from airflow_provider_metrika.constants import DEFAULT_CONN_ID
from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal, drop_records_on_success
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.links import COUNTER_ID_XCOM_KEY, MetrikaCounterLink
from airflow_provider_metrika.operators._upload_arguments import check_shared_arguments

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.engine import UploadEndpoint
    from airflow_provider_metrika.delivery.manifest import PlannedPart
    from airflow_provider_metrika.delivery.task_delivery import PreparedPart
    from airflow_provider_metrika.simple_orders.sync_state import SyncState
    from airflow_provider_metrika.sync.changed_only import ChangedOnlySync

#: XCom key of the uploading ids, pushed before any waiting.
UPLOADING_IDS_XCOM_KEY = "uploading_ids"
#: XCom key of the sync summary of a ``changed_only`` upload.
SYNC_STATE_XCOM_KEY = "sync_state"
#: The journal document that carries a deferred wait's hand-over to ``execute_complete``.
DEFERRED_DOCUMENT = "deferred"
#: Template fields every upload kind has.
SHARED_TEMPLATE_FIELDS = ("counter_id", "path", "sql", "sql_parameters", "force_resend", "archive_path")


class PreparedUpload(Protocol):
    """What a kind's core hands back: the part files and a report of what it counted."""

    @property
    def parts(self) -> Sequence[PreparedPart]: ...
    @property
    def report(self) -> Any: ...


class MetrikaUploadOperator(BaseOperator):
    """
    Read one input, let the kind prepare it into part files, deliver them exactly once, then wait.

    A kind (simplified orders, offline conversions...) subclasses this and supplies
    :meth:`prepare`, :meth:`check_before_sending`, :meth:`endpoint`, its :attr:`status_reader` and
    its XCom report key; everything else is shared: the input (``dataframe``, ``path`` or ``sql``),
    the delivery journal and the archive, the changed-only sync, the deferrable wait, XCom, the
    counter link and lineage. Every delivery guarantee is the engine's
    (:mod:`airflow_provider_metrika.delivery`), whatever the kind.

    :param counter_id: the Metrika counter (templated); None uses the connection's default.
    :param dataframe: a pandas DataFrame, or an upstream task's XCom of one.
    :param path: a CSV file as a local path or an object-storage URI (templated).
    :param sql: a SELECT (templated), run on ``sql_conn_id`` and fetched in batches.
    :param sql_conn_id: a database connection whose hook is a common.sql ``DbApiHook``.
    :param sql_parameters: parameters of ``sql`` (templated).
    :param sql_batch_rows: rows fetched per batch from the database.
    :param metrika_conn_id: the Metrika connection.
    :param max_part_bytes: the largest part file.
    :param wait_for_validation: after uploading, wait until Metrika is done with every upload.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between two looks while waiting.
    :param timeout: seconds to wait before failing.
    :param force_resend: send again, once, a part whose send by an earlier try is unresolved.
    :param archive_path: where the exact parts sent are kept, with a ``manifest.json`` (templated).
    :param changed_only: send only rows new or changed since they were last accepted.
    :param sync_state: with ``changed_only``, where the sync state is kept (templated).
    :param full_refresh: with ``changed_only``, send everything and rebuild the state (templated).
    """

    #: The XCom key of the kind's preparation report.
    report_xcom_key: ClassVar[str] = "report"
    #: The kind's wait (:mod:`airflow_provider_metrika.waiting.kinds`): its statuses and lookups.
    wait_kind: ClassVar[str] = "simple_orders"
    #: How the kind's output is named in lineage, e.g. ``simple_orders``.
    dataset_name: ClassVar[str] = "uploads"
    #: What the input rows are, for messages.
    row_noun: ClassVar[str] = "rows"
    #: Whether the kind can send only what changed (its core compares rows with a sync state).
    supports_changed_only: ClassVar[bool] = False
    #: Whether every try repeats the whole plan (a replace that settles earlier tries itself).
    replans_each_try: ClassVar[bool] = False
    operator_extra_links = (MetrikaCounterLink(),)

    def __init__(
        self,
        *,
        counter_id: int | str | None,
        dataframe: Any,
        path: str | None,
        sql: str | None,
        sql_conn_id: str | None,
        sql_parameters: Mapping[str, Any] | Sequence[Any] | None,
        sql_batch_rows: int,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        max_part_bytes: int,
        wait_for_validation: bool,
        deferrable: bool,
        poll_interval: float,
        timeout: float,
        force_resend: bool | str,
        archive_path: str | None,
        changed_only: bool = False,
        sync_state: str | None = None,
        full_refresh: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # The delivery records go once Airflow has recorded the success, not inside execute().
        self.on_success_callback = [*_callbacks(self.on_success_callback), drop_records_on_success]
        if not self.supports_changed_only:
            _refuse_changed_only(
                self, changed_only=changed_only, sync_state=sync_state, full_refresh=full_refresh
            )
        check_shared_arguments(self.task_id, {k: v for k, v in locals().items() if k not in _NOT_ARGUMENTS})
        self.counter_id = counter_id
        # Not a template field: a rendered DataFrame would be stored, customer values and all, as the
        # task's rendered fields. An XComArg is resolved in execute() instead; it still sets the upstream.
        self.dataframe = dataframe
        if isinstance(dataframe, XComArg):
            XComArg.apply_upstream_relationship(self, dataframe)
        self.path = path
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.sql_parameters = sql_parameters
        self.sql_batch_rows = sql_batch_rows
        self.metrika_conn_id = metrika_conn_id
        self.max_part_bytes = max_part_bytes
        self.wait_for_validation = wait_for_validation
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.force_resend = force_resend
        self.archive_path = archive_path
        self.changed_only = changed_only
        self.sync_state = sync_state
        self.full_refresh = full_refresh
        self.counter_used: int | None = None
        self._sync_summary: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> MetrikaHook:
        """The Metrika hook of this task (closed when ``execute`` ends)."""
        return MetrikaHook(self.metrika_conn_id)

    # -- what a kind supplies ------------------------------------------------------------------------

    def read_options(self, counter: int) -> None:
        """Check the kind's rendered options, once per try, before anything is read or sent.

        A kind whose options decide whether ``changed_only`` can work refuses them here.
        """

    def prepare(
        self, context: Context, workdir: Path, counter: int, state: SyncState | None
    ) -> PreparedUpload:
        """Read the input and write the part files (the kind's core)."""
        raise NotImplementedError

    def check_before_sending(self, context: Context, counter: int, prepared: Any) -> dict[str, Any]:
        """Check the prepared data against the counter, push the report; return the report as pushed."""
        raise NotImplementedError

    def endpoint(self, counter: int) -> UploadEndpoint:
        """Return where and how the parts go (the kind's endpoint)."""
        raise NotImplementedError

    def manifest_about(self, counter: int) -> dict[str, Any]:
        """Return what the archive's manifest says of the destination."""
        return {"counter_id": counter}

    def summary_counts(self, report: Any) -> list[tuple[str, int, str]]:
        """Return the summary's count lines: label, number, note."""
        return [("rows read", report.rows_read, ""), ("rows written", report.rows_written, "")]

    def after_part(self, counter: int) -> Callable[[PlannedPart, dict[str, Any]], Any] | None:
        """Return what to do after each part before the next goes (None: nothing; the default)."""
        return None

    def on_delivered(self, context: Context, uploadings: list[dict[str, Any]]) -> None:
        """Act on the uploads once sent (the kind may log or check more)."""

    def after_wait(
        self,
        context: Context,
        uploadings: list[dict[str, Any]],
        report: dict[str, Any],
        *,
        resumed: bool = False,
    ) -> list[dict[str, Any]]:
        """Judge the uploads once Metrika is done with them; return what the task returns.

        :param report: the preparation report as pushed to XCom (a deferred try has only this copy).
        :param resumed: the wait ended in the triggerer (the polling wait logs its own outcome).
        """
        if resumed:
            self.log.info("Metrika validated %d uploading(s): all PASSED", len(uploadings))
        return uploadings

    def nothing_prepared(self, report: Any) -> str:
        """Say why there is nothing to send (the task is skipped)."""
        return f"Nothing to upload: {report.rows_read} rows read, none written"

    # -- the shared flow -----------------------------------------------------------------------------

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Prepare the parts, deliver those not accepted yet, push ids, optionally wait."""
        from airflow_provider_metrika.delivery.task_delivery import (
            TaskDelivery,
            refuse_unresolved_completion,
            sent_as_prepared,
        )
        from airflow_provider_metrika.operators._upload_summary import upload_summary
        from airflow_provider_metrika.sync.changed_only import SyncCounts

        ti = context["ti"]
        try:
            counter = self.hook.resolve_counter_id(self.counter_id)
            self.counter_used = counter
            ti.xcom_push(key=COUNTER_ID_XCOM_KEY, value=counter)
            self.read_options(counter)
            started = time.monotonic()
            journal = TaskUploadJournal(context)
            if not self.replans_each_try:  # a replace is safe to repeat after any completed try
                refuse_unresolved_completion(journal, context)
            sync = self._sync(counter, context)
            state = sync.read() if sync is not None else None
            with tempfile.TemporaryDirectory(prefix=f"metrika-{self.dataset_name}-") as workdir:
                prepared = self.prepare(context, Path(workdir), counter, state)
                report = self.check_before_sending(context, counter, prepared)
                if not prepared.parts:
                    return self._nothing_to_send(context, prepared, report, sync, state, journal)
                endpoint = self.endpoint(counter)
                delivery = TaskDelivery(
                    self.hook,
                    endpoint,
                    journal,
                    context,
                    force_resend=self.force_resend,
                    archive_path=self.archive_path,
                    about=self.manifest_about(counter),
                    log=self.log,
                )
                # The plan comes first: the sync state records only what this try's parts carry, and it
                # is recorded before the first part goes (a kill from here on leaves it unconfirmed).
                manifest = delivery.plan(
                    prepared.parts, fresh=self.replans_each_try, extra=getattr(prepared, "extra", None)
                )
                own = sent_as_prepared(manifest, prepared.parts)
                sent = getattr(prepared, "sent_orders", None)
                counts = SyncCounts.of(prepared.report) if sync is not None else None
                upload = sync.begin(sent, counts) if sync is not None and counts and own and sent else None
                uploadings = delivery.deliver(manifest, Path(workdir), self.after_part(counter))
                ti.xcom_push(key=UPLOADING_IDS_XCOM_KEY, value=[endpoint.uploading_id(u) for u in uploadings])
                summary = upload_summary(
                    self.summary_counts(prepared.report),
                    manifest.parts,
                    uploadings,
                    endpoint,
                    seconds=time.monotonic() - started,
                    counter_id=counter,
                )
                self.log.info("%s\n", summary)
                if sync is not None and upload is not None:
                    sync.accepted(upload, uploadings)
                self.on_delivered(context, uploadings)
                if self.wait_for_validation:
                    if self.deferrable:
                        self._defer(context, counter, uploadings, report, sync, upload, journal)
                    uploadings = self.after_wait(context, self._wait(counter, uploadings), report)
                if sync is not None and counts is not None:
                    self._publish_sync(
                        context, sync.commit(upload, counts, validated=self.wait_for_validation)
                    )
            # Done; the records stay until Airflow records the success (drop_records_on_success).
            journal.mark_completed()
            return uploadings
        finally:
            self.hook.close()

    def _sync(self, counter: int, context: Context) -> ChangedOnlySync | None:
        """Return the sync state's life cycle, when this task sends only changes."""
        if not self.changed_only:
            return None
        from airflow_provider_metrika.hooks.connection import base_url_from_connection
        from airflow_provider_metrika.simple_orders.sync_state import Destination
        from airflow_provider_metrika.sync.changed_only import ChangedOnlySync

        destination = Destination(urlparse(base_url_from_connection(self.hook.connection)).netloc, counter)
        return ChangedOnlySync(
            self.task_id,
            str(self.sync_state or ""),
            destination,
            read_flag("full_refresh", self.full_refresh),
            self.log,
            lambda ids, since: self.hook.find_uploadings(counter, ids, not_before=since),
            owner=TaskUploadJournal.owner_of(context),
        )

    def _nothing_to_send(
        self,
        context: Context,
        prepared: Any,
        report: dict[str, Any],
        sync: ChangedOnlySync | None,
        state: SyncState | None,
        journal: TaskUploadJournal,
    ) -> list[dict[str, Any]]:
        """Succeed when a sync found nothing new or changed; skip when the input had nothing."""
        from airflow_provider_metrika.sync.changed_only import SyncCounts

        unchanged = getattr(prepared.report, "orders_unchanged", 0)
        if sync is None or state is None or not unchanged:
            raise AirflowSkipException(self.nothing_prepared(prepared.report))
        self.log.info(
            "Nothing new or changed since the last sync: %s %s unchanged; the sync state %s is kept",
            f"{unchanged:,}",
            self.row_noun,
            state.location,
        )
        self._publish_sync(context, sync.commit(None, SyncCounts.of(prepared.report), validated=False))
        journal.mark_completed()
        return []

    def _defer(
        self,
        context: Context,
        counter: int,
        uploadings: list[dict[str, Any]],
        report: dict[str, Any],
        sync: ChangedOnlySync | None,
        upload: str | None,
        journal: TaskUploadJournal,
    ) -> None:
        """Hand the wait to the triggerer; what ``execute_complete`` needs goes in the journal."""
        from airflow_provider_metrika.triggers.uploading import deferral_timeout

        journal.write_document(
            DEFERRED_DOCUMENT,
            {"counter": counter, "report": report, "sync": sync is not None, "upload": upload},
        )
        # The uploads are done and their ids are in XCom: only the waiting is deferred, so a
        # restarted triggerer replays polls, never uploads.
        trigger = self.trigger(counter, uploadings)
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=deferral_timeout(trigger.deadline, self.poll_interval),
        )

    def trigger(self, counter: int, uploadings: list[dict[str, Any]]) -> Any:
        """Return the trigger that waits on the uploads in the triggerer."""
        from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger

        return MetrikaUploadingTrigger.from_uploadings(
            counter_id=counter,
            uploadings=uploadings,
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            metrika_conn_id=self.metrika_conn_id,
            kind=self.wait_kind,
        )

    def _wait(self, counter: int, uploadings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Poll here until Metrika is done with every upload."""
        from airflow_provider_metrika.waiting.kinds import wait_kind
        from airflow_provider_metrika.waiting.poll import wait_for_validation
        from airflow_provider_metrika.waiting.uploadings import UploadingsWait, read_uploading_targets

        kind = wait_kind(self.wait_kind)
        targets = read_uploading_targets(uploadings, allow_empty=True, id_field=kind.id_field)
        wait = UploadingsWait.from_targets(counter, targets, kind.reader)
        return wait_for_validation(
            wait,
            lambda ids, since: kind.find(self.hook, counter, ids, since),
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            log=self.log,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Finish after the trigger: return the uploadings, or raise on failure or timeout.

        With ``changed_only``, the rows sent before deferring are recorded as held now that Metrika
        validated them; on failure they stay unconfirmed, and the next run resolves them.
        """
        from airflow_provider_metrika.sync.changed_only import SyncCounts
        from airflow_provider_metrika.waiting.uploadings import result_from_event

        journal = TaskUploadJournal(context, resumed=True)
        handed = journal.read_document(DEFERRED_DOCUMENT) or {}
        if handed.get("counter") is not None:
            self.counter_used = int(handed["counter"])  # for the counter link, on this resumed try
        try:
            uploads = list(result_from_event(event).values())
            found = self.after_wait(context, uploads, handed.get("report") or {}, resumed=True)
            if handed.get("sync"):
                sync = self._sync(int(handed["counter"]), context)
                if sync is not None:
                    counts = SyncCounts.from_dict(handed["report"])
                    summary = sync.commit(handed.get("upload"), counts, validated=True)
                    self._publish_sync(context, summary)
        finally:
            self.hook.close()
        journal.mark_completed()
        return found

    def _publish_sync(self, context: Context, summary: dict[str, Any]) -> None:
        """Push the change counts and the state to XCom and to the task's outlet asset events."""
        self._sync_summary = summary
        context["ti"].xcom_push(key=SYNC_STATE_XCOM_KEY, value=summary)
        outlet_events = context.get("outlet_events")
        for outlet in self.outlets or []:
            if outlet_events is not None and hasattr(outlet, "uri"):
                outlet_events[outlet].extra.update(summary)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        Describe the run for OpenLineage: the file or query read, the counter's data written.

        The OpenLineage provider is optional: it is imported only when it calls this.

        :param task_instance: the finished task instance.
        """
        from airflow_provider_metrika.operators._lineage import upload_lineage

        counter = self.counter_used or self.hook.resolve_counter_id(self.counter_id)
        return upload_lineage(
            self.hook,
            counter,
            self.dataset_name,
            path=self.path,
            sql=self.sql,
            sql_conn_id=self.sql_conn_id,
            sync_summary=self._sync_summary,
        )


#: Locals of ``__init__`` that are not the operator's own arguments.
_NOT_ARGUMENTS = frozenset({"self", "kwargs", "__class__"})


def _refuse_changed_only(task: BaseOperator, **arguments: Any) -> None:
    """Refuse changed-only arguments given to a kind that cannot send only what changed."""
    given = [name for name, value in arguments.items() if value not in (False, None, "", "False", "false")]
    if given:
        raise MetrikaInvalidArgumentError(
            f"{task.task_id}: {type(task).__name__} cannot send only what changed; remove "
            f"{', '.join(f'{name}=' for name in given)}"
        )


def _callbacks(value: Any) -> list[Any]:
    """Return a task's callbacks as a list (Airflow takes one callable, a list, or None)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
