"""Operator that validates CRM orders and uploads them to Metrika as simplified-orders CSV parts."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from airflow_provider_metrika._compat import AirflowSkipException, BaseOperator, XComArg, conf
from airflow_provider_metrika.arguments import (
    check_choice,
    read_flag,
)
from airflow_provider_metrika.constants import (
    DEFAULT_CONN_ID,
    MAX_UPLOAD_BYTES,
    MERGE_MODES,
)
from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal, drop_records_on_success
from airflow_provider_metrika.hooks.connection import base_url_from_connection
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.links import COUNTER_ID_XCOM_KEY, MetrikaCounterLink
from airflow_provider_metrika.operators.changed_only import (
    SYNC_STATE_XCOM_KEY,
    ChangedOnlySync,
    check_sync_arguments,
)
from airflow_provider_metrika.operators.goal_check import GoalCheck, check_goals
from airflow_provider_metrika.operators.part_delivery import deliver_parts, refuse_unresolved_completion
from airflow_provider_metrika.operators.preparation import prepare_keeping_rejects
from airflow_provider_metrika.operators.upload_arguments import check_upload_operator_arguments
from airflow_provider_metrika.operators.upload_summary import upload_summary
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger, deferral_timeout
from airflow_provider_metrika.uploading_status import (
    UploadingsWait,
    read_uploading_targets,
    result_from_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.manifest import Manifest
    from airflow_provider_metrika.simple_orders import PreparedOrders
    from airflow_provider_metrika.simple_orders.sync_state import SyncState

#: Locals of ``__init__`` that are not the operator's own arguments.
_NOT_ARGUMENTS = frozenset({"self", "kwargs", "__class__"})

__all__ = [
    "REPORT_XCOM_KEY",
    "SYNC_STATE_XCOM_KEY",
    "UPLOADING_IDS_XCOM_KEY",
    "SimpleOrdersUploadOperator",
]

#: XCom key of the uploading ids, pushed before any waiting.
UPLOADING_IDS_XCOM_KEY = "uploading_ids"
#: XCom key of the preparation report (counts only, no order data).
REPORT_XCOM_KEY = "orders_report"
#: The journal document that carries a deferred wait's hand-over to ``execute_complete``.
DEFERRED_DOCUMENT = "deferred"


class SimpleOrdersUploadOperator(BaseOperator):
    """
    Validate and normalise orders, then upload them to a Metrika counter as simplified-orders CSV.

    Takes exactly one input: ``dataframe`` (a pandas DataFrame, or an upstream task's XCom of one:
    the worker then needs pyarrow, which this provider installs, and big frames do not belong in
    XCom), ``path`` (a local path or an object-storage URI, read streamed through
    ``ObjectStoragePath``), or ``sql`` with ``sql_conn_id`` (fetched in batches through the
    connection's common.sql hook). Orders are written to parts of at most ``max_part_bytes``,
    uploaded in order, streamed from disk.

    Every order reaches Metrika once across task retries, crashes and concurrent runs: the
    delivery engine (:mod:`airflow_provider_metrika.delivery`) keys each part by its destination,
    task instance, place and bytes, fixes the plan at the first try, and keeps a durable record
    before each POST and after Metrika's answer in Airflow (the task state store on Airflow 3.3+,
    a Variable before). A retry skips the parts accepted earlier, resolves a send whose answer was
    lost, and refuses to send parts cut from a source that changed when that could apply rows
    twice; the records are dropped when the task succeeds, so a cleared or new run sends again.
    Uploads are never deferred: only waiting for validation may be.

    Returns (XCom) the list of uploading objects, one per part; also pushes ``uploading_ids`` and
    ``orders_report`` (counts, and a few rejected-row examples with emails and phones masked).

    :param counter_id: the Metrika counter (templated); None uses the connection's default.
    :param dataframe: orders as a pandas DataFrame.
    :param path: a CSV file (comma or semicolon) as a local path or ``s3://``, ``gs://``, ``file://``
        URI (templated).
    :param sql: a SELECT returning order columns (templated), run on ``sql_conn_id``.
    :param sql_conn_id: a database connection whose hook is a common.sql ``DbApiHook``.
    :param sql_parameters: parameters of ``sql``, in the driver's style (templated).
    :param sql_batch_rows: rows fetched per batch from the database.
    :param merge_mode: ``SAVE`` (replace each order), ``UPDATE`` (change the fields sent) or
        ``APPEND`` (add list values) (templated).
    :param delimiter_type: ``COMMA`` or ``SEMICOLON``: the delimiter of the files sent.
    :param metrika_conn_id: the Metrika connection.
    :param timezone: the counter's IANA time zone, in which Metrika reads order dates and in which
        they are written (templated). Given, the counter is not read, so a token with
        ``metrika:offline_data`` alone works; default: the counter's ``time_zone_name``, read once
        per task (needs ``metrika:read``).
    :param source_timezone: the IANA zone that naive input timestamps are in (templated), e.g.
        ``UTC`` for a warehouse that stores UTC without an offset; default: the counter's zone.
        Timestamps with an offset are converted from their own zone whatever this says.
    :param columns: renames of input columns to Metrika's, e.g. ``{"order_id": "id"}`` (templated).
    :param status_map: CRM order statuses to Metrika's, e.g. ``{"shipped": "PAID"}``.
    :param hash_identifiers: send MD5 hashes of emails and phones instead of the raw values.
    :param on_invalid: ``fail`` (raise, naming the rows) or ``skip`` (write them to a rejects file).
    :param max_invalid_fraction: with ``skip``, the largest share of rejected rows tolerated.
    :param rejects_path: with ``skip``, where to keep the rejected rows (their original values and
        the reasons) as CSV: a local path or object-storage URI (templated). Without it they are
        only summarised in the log.
    :param duplicates: ``error`` or ``keep_last`` for several rows with the same order id.
    :param unknown_columns: ``error`` or ``drop`` for input columns Metrika does not know.
    :param rewrite_leading_8: rewrite Russian phones written 8XXXXXXXXXX to 7XXXXXXXXXX; while it
        is off, the task warns about such phones (they will not match visits).
    :param decimal: decimal separator of ``revenue`` and ``cost`` text, pandas' name for it: ``"."``
        or ``","`` (accepts ``4590,50`` and ``1 299,99``); None: ``"."``, or either for a
        semicolon-delimited CSV file.
    :param unknown_statuses: ``error`` (default): before sending, fail on an ``order_status`` that
        Metrika would read as a JavaScript goal identifier the counter does not have (checked when the
        token can read the counter's goals, ``metrika:read``; else a warning); ``allow``: warn and send.
        A status that meets a goal only by a ``contain``, ``start`` or ``regexp`` condition is sent with a
        warning naming the goal and its condition.
    :param unknown_goals: ``allow`` (default): send identifiers in ``goals`` that reach none of the
        counter's JavaScript goals, with a warning naming each and how many orders carry it;
        ``error``: fail before sending.
    :param max_part_bytes: the largest part file (Metrika's limit is 1 GB).
    :param wait_for_validation: after uploading, wait until Metrika lists every uploading as
        PASSED (fail on FAILED).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between two looks at Metrika's uploadings while waiting.
    :param timeout: seconds to wait for validation before failing.
    :param force_resend: send again, once, a part whose send by an *earlier try* is unresolved
        (its answer was lost and it is not listed) even when that is not harmless; never a send of
        the current try. Set it for one run only, after checking in Metrika that the part was not
        stored: ``python -m airflow_provider_metrika.delivery resend ...`` then Clear, or a
        templated value such as ``"{{ params.force_resend }}"`` (templated).
    :param archive_path: a directory or bucket prefix (templated) where the exact parts sent are
        kept, with a ``manifest.json`` (counter, merge mode, uploads, statuses, rows, content
        hashes, the task instance), one folder per task instance. A retry whose source moved sends
        the parts kept here, so every order is sent once whatever the source does between tries.
    :param changed_only: send only orders that are new or changed since they were last accepted,
        compared by a fingerprint of each normalised row kept in ``sync_state``; the rest are
        counted and skipped. Needs ``merge_mode`` SAVE or UPDATE.
    :param sync_state: with ``changed_only``, a directory or bucket prefix (templated; a local path
        or an ``ObjectStoragePath`` URI such as ``s3://bucket/metrika-state/``) holding one Parquet
        state file per destination (API host and counter) and its change files. The orders sent are
        recorded before the first part goes and count as held once Metrika lists them PASSED (at
        once with ``wait_for_validation``, else resolved by the next run).
    :param full_refresh: with ``changed_only``, send every order and rebuild the state (templated).
    """

    template_fields: Sequence[str] = (
        "counter_id",
        "path",
        "sql",
        "sql_parameters",
        "merge_mode",
        "columns",
        "status_map",
        "timezone",
        "source_timezone",
        "rejects_path",
        "force_resend",
        "sync_state",
        "full_refresh",
        "archive_path",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "sql": "sql",
        "columns": "json",
        "status_map": "json",
        "sql_parameters": "json",
    }
    template_ext: Sequence[str] = (".sql",)
    ui_color = "#ffcc00"
    operator_extra_links = (MetrikaCounterLink(),)

    def __init__(
        self,
        *,
        counter_id: int | str | None = None,
        dataframe: Any = None,
        path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        sql_parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        sql_batch_rows: int = 50_000,
        merge_mode: str = "SAVE",
        delimiter_type: str = "COMMA",
        metrika_conn_id: str = DEFAULT_CONN_ID,
        timezone: str | None = None,
        source_timezone: str | None = None,
        columns: Mapping[str, str] | str | None = None,
        status_map: Mapping[str, str] | str | None = None,
        hash_identifiers: bool = False,
        on_invalid: str = "fail",
        max_invalid_fraction: float = 0.0,
        rejects_path: str | None = None,
        duplicates: str = "error",
        unknown_columns: str = "error",
        rewrite_leading_8: bool = False,
        decimal: str | None = None,
        unknown_statuses: str = "error",
        unknown_goals: str = "allow",
        max_part_bytes: int = MAX_UPLOAD_BYTES,
        wait_for_validation: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        force_resend: bool | str = False,
        changed_only: bool = False,
        sync_state: str | None = None,
        full_refresh: bool | str = False,
        archive_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # The delivery records go once Airflow has recorded the success, not inside execute().
        self.on_success_callback = [*_callbacks(self.on_success_callback), drop_records_on_success]
        arguments = {name: value for name, value in locals().items() if name not in _NOT_ARGUMENTS}
        self.delimiter_type = check_upload_operator_arguments(self.task_id, arguments)

        self.counter_id = counter_id
        # Not a template field: a rendered DataFrame would be stored, emails and all, as the task's
        # rendered fields. An XComArg is resolved in execute() instead; it still sets the upstream.
        self.dataframe = dataframe
        if isinstance(dataframe, XComArg):
            XComArg.apply_upstream_relationship(self, dataframe)
        self.path = path
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.sql_parameters = sql_parameters
        self.sql_batch_rows = sql_batch_rows
        self.merge_mode = merge_mode
        self.metrika_conn_id = metrika_conn_id
        self.timezone = timezone
        self.source_timezone = source_timezone
        self.columns = columns
        self.status_map = status_map
        self.hash_identifiers = hash_identifiers
        self.on_invalid = on_invalid
        self.max_invalid_fraction = max_invalid_fraction
        self.rejects_path = rejects_path
        self.duplicates = duplicates
        self.unknown_columns = unknown_columns
        self.rewrite_leading_8 = rewrite_leading_8
        self.decimal = decimal
        self.unknown_statuses = unknown_statuses
        self.unknown_goals = unknown_goals
        self.max_part_bytes = max_part_bytes
        self.wait_for_validation = wait_for_validation
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.force_resend = force_resend
        self.changed_only = changed_only
        self.sync_state = sync_state
        self.full_refresh = full_refresh
        self.archive_path = archive_path
        self.counter_used: int | None = None
        self._sync_summary: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> MetrikaHook:
        """The Metrika hook of this task (closed when ``execute`` ends)."""
        return MetrikaHook(self.metrika_conn_id)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Prepare the parts, deliver those not accepted yet, push ids, optionally wait."""
        ti = context["ti"]
        try:
            counter = self.hook.resolve_counter_id(self.counter_id)
            merge_mode = check_choice("merge_mode", self.merge_mode, MERGE_MODES)
            self.counter_used = counter
            ti.xcom_push(key=COUNTER_ID_XCOM_KEY, value=counter)
            # The counter's zone, read once per task unless given: a 403 here stops before any order is sent.
            timezone = self.timezone or self.hook.get_counter_timezone(counter)
            started = time.monotonic()
            journal = TaskUploadJournal(context)
            refuse_unresolved_completion(journal, context)
            sync = self._sync(counter, merge_mode, context)
            state = sync.read() if sync is not None else None
            with tempfile.TemporaryDirectory(prefix="metrika-orders-") as workdir:
                prepared = prepare_keeping_rejects(self, context, Path(workdir), timezone, state)
                self._log_report(prepared, counter, timezone)
                goals = self._check_goals(counter, prepared) if prepared.parts else GoalCheck()
                report = self._push_report(context, prepared, goals)
                goals.enforce(
                    unknown_statuses=self.unknown_statuses, unknown_goals=self.unknown_goals, log=self.log
                )
                if not prepared.parts:
                    return self._nothing_to_send(context, prepared, report, sync, state, journal)
                # Recorded before the first part goes: a failure or kill from here on leaves it unconfirmed.
                upload = sync.begin(prepared.sent_orders, report) if sync and prepared.sent_orders else None
                manifest, uploadings = deliver_parts(
                    self, context, counter, merge_mode, prepared, journal, Path(workdir)
                )
                ti.xcom_push(key=UPLOADING_IDS_XCOM_KEY, value=[u["uploading_id"] for u in uploadings])
                seconds = time.monotonic() - started
                summary = upload_summary(
                    prepared.report, manifest.parts, uploadings, seconds=seconds, counter_id=counter
                )
                self.log.info("%s\n", summary)
                upload = upload if _sent_as_prepared(manifest, prepared) else None
                if sync is not None and upload is not None:
                    sync.accepted(upload, uploadings)
                if self.wait_for_validation:
                    if self.deferrable:
                        self._defer(context, counter, uploadings, report, sync, upload, journal)
                    uploadings = self._wait(counter, uploadings)
                if sync is not None:
                    self._publish_sync(
                        context, sync.commit(upload, report, validated=self.wait_for_validation)
                    )
            # Done; the records stay until Airflow records the success (drop_records_on_success).
            journal.mark_completed()
            return uploadings
        finally:
            self.hook.close()

    def _sync(self, counter: int, merge_mode: str, context: Context) -> ChangedOnlySync | None:
        """Return the sync state's life cycle, when this task sends only changes."""
        if not self.changed_only:
            return None
        from airflow_provider_metrika.simple_orders.sync_state import Destination

        check_sync_arguments(self.task_id, True, self.sync_state, self.full_refresh, merge_mode)
        destination = Destination(urlparse(base_url_from_connection(self.hook.connection)).netloc, counter)
        full_refresh = read_flag("full_refresh", self.full_refresh)
        return ChangedOnlySync(
            self.task_id,
            str(self.sync_state or ""),
            destination,
            full_refresh,
            self.log,
            lambda ids, since: self.hook.find_uploadings(counter, ids, not_before=since),
            owner=TaskUploadJournal.owner_of(context),
        )

    def _check_goals(self, counter: int, prepared: PreparedOrders) -> GoalCheck:
        """Check goal-id statuses and the ``goals`` column against the counter's JavaScript goals."""
        return check_goals(self.hook, counter, prepared.report, self.log)

    def _log_report(self, prepared: PreparedOrders, counter: int, timezone: str) -> None:
        """Log the preparation report and its warnings."""
        self.log.info(
            "Orders prepared for counter %s (dates written in %s, the counter's time zone %s; "
            "naive input read in %s):\n%s\n",
            counter,
            timezone,
            "as given by timezone=" if self.timezone else "as read from Metrika",
            self.source_timezone or timezone,
            prepared.report.as_text(),
        )
        for warning in prepared.report.warnings:
            self.log.warning("%s", warning.describe())

    def _push_report(self, context: Context, prepared: PreparedOrders, goals: GoalCheck) -> dict[str, Any]:
        """Push the report, with what the goal check found, to XCom; return it as pushed."""
        counts = {**prepared.report.to_dict(), "goal_check": goals.to_dict()}
        context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=counts)
        return counts

    def _nothing_to_send(
        self,
        context: Context,
        prepared: PreparedOrders,
        report: dict[str, Any],
        sync: ChangedOnlySync | None,
        state: SyncState | None,
        journal: TaskUploadJournal,
    ) -> list[dict[str, Any]]:
        """Succeed when a sync found nothing new or changed; skip when the input had no orders."""
        if sync is None or state is None or not prepared.report.orders_unchanged:
            raise AirflowSkipException(
                f"No orders to upload: {prepared.report.rows_read} rows read, none written"
            )
        self.log.info(
            "Nothing new or changed since the last sync: %s orders unchanged; the sync state %s is kept",
            f"{prepared.report.orders_unchanged:,}",
            state.location,
        )
        self._publish_sync(context, sync.commit(None, report, validated=False))
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
        journal.write_document(
            DEFERRED_DOCUMENT,
            {"counter": counter, "report": report, "sync": sync is not None, "upload": upload},
        )
        # The uploads are done and their ids are in XCom: only the waiting is deferred, so a
        # restarted triggerer replays polls, never uploads.
        trigger = MetrikaUploadingTrigger.from_uploadings(
            counter_id=counter,
            uploadings=uploadings,
            poll_interval=self.poll_interval,
            timeout=self.timeout,
            metrika_conn_id=self.metrika_conn_id,
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=deferral_timeout(trigger.deadline, self.poll_interval),
        )

    def _wait(self, counter: int, uploadings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Poll here until Metrika lists every upload as PASSED."""
        from airflow_provider_metrika.delivery.wait import wait_for_validation

        wait = UploadingsWait.from_targets(counter, read_uploading_targets(uploadings, allow_empty=True))
        return wait_for_validation(
            wait,
            lambda ids, since: self.hook.find_uploadings(counter, ids, not_before=since),
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            log=self.log,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Finish after the trigger: return the PASSED uploadings, or raise on failure or timeout.

        With ``changed_only``, the orders sent before deferring are recorded as held now that
        Metrika validated them; on failure they stay unconfirmed, and the next run resolves them.
        """
        journal = TaskUploadJournal(context, resumed=True)
        handed = journal.read_document(DEFERRED_DOCUMENT) or {}
        if handed.get("counter") is not None:
            self.counter_used = int(handed["counter"])  # for the counter link, on this resumed try
        try:
            found = result_from_event(event)
            self.log.info("Metrika validated %d uploading(s): all PASSED", len(found))
            if handed.get("sync"):
                sync = self._sync(int(handed["counter"]), str(self.merge_mode), context)
                if sync is not None:
                    summary = sync.commit(handed.get("upload"), handed["report"], validated=True)
                    self._publish_sync(context, summary)
        finally:
            self.hook.close()
        journal.mark_completed()
        return list(found.values())

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
        Describe the run for OpenLineage: the file or query read, the counter's orders written.

        The OpenLineage provider is optional: it is imported only when it calls this.

        :param task_instance: the finished task instance.
        """
        from airflow_provider_metrika.operators.lineage import upload_lineage

        return upload_lineage(self)


def _sent_as_prepared(manifest: Manifest, prepared: PreparedOrders) -> bool:
    """Tell whether the parts delivered are this try's own (not a first try's staged ones)."""
    return [p.sha256 for p in manifest.parts] == [p.sha256 for p in prepared.parts]


def _callbacks(value: Any) -> list[Any]:
    """Return a task's callbacks as a list (Airflow takes one callable, a list, or None)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
