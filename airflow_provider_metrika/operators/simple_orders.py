"""Operator that validates CRM orders and uploads them to Metrika as simplified-orders CSV parts."""

from __future__ import annotations

import tempfile
import time
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from airflow_provider_metrika._compat import AirflowSkipException, BaseHook, BaseOperator, XComArg, conf
from airflow_provider_metrika.constants import (
    DECIMALS,
    DEFAULT_CONN_ID,
    DELIMITER_TYPES,
    DUPLICATES,
    MAX_UPLOAD_BYTES,
    MERGE_MODES,
    MIN_PART_BYTES,
    ON_INVALID,
    UNKNOWN_COLUMNS,
    UPLOADING_FAILED,
)
from airflow_provider_metrika.exceptions import (
    MetrikaInvalidArgumentError,
    MetrikaUploadingFailedError,
    MetrikaUploadingTimeoutError,
)
from airflow_provider_metrika.hooks.metrika import (
    MetrikaHook,
    base_url_from_connection,
    check_choice,
    check_counter_id,
)
from airflow_provider_metrika.links import COUNTER_ID_XCOM_KEY, MetrikaCounterLink
from airflow_provider_metrika.operators.goal_check import UNKNOWN_STATUSES, check_goal_statuses
from airflow_provider_metrika.operators.order_sources import copy_to_storage, sql_batches, storage_path
from airflow_provider_metrika.operators.task_upload_journal import TaskUploadJournal
from airflow_provider_metrika.operators.upload_summary import upload_summary
from airflow_provider_metrika.progress import ProgressLog
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger, deferral_timeout
from airflow_provider_metrika.uploading_status import (
    UploadingsWait,
    parse_literal,
    read_uploading_targets,
    result_from_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.simple_orders import PreparedOrders
    from airflow_provider_metrika.simple_orders.sync_state import Destination, SyncState

#: XCom key of the uploading ids, pushed before any waiting.
UPLOADING_IDS_XCOM_KEY = "uploading_ids"
#: XCom key of the preparation report (counts only, no order data).
REPORT_XCOM_KEY = "orders_report"
#: XCom key of what a ``changed_only`` task recorded in its sync state (counts and location).
SYNC_STATE_XCOM_KEY = "sync_state"


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


class SimpleOrdersUploadOperator(BaseOperator):
    """
    Validate and normalise orders, then upload them to a Metrika counter as simplified-orders CSV.

    Takes exactly one input: ``dataframe`` (a pandas DataFrame, or an upstream task's XCom of one:
    the worker then needs pyarrow, which this provider installs, and big frames do not belong in
    XCom), ``path`` (a local path or an object-storage URI, read streamed through
    ``ObjectStoragePath``), or ``sql`` with ``sql_conn_id`` (fetched in batches through the
    connection's common.sql hook). Orders are written to parts of at most ``max_part_bytes``,
    uploaded in order, streamed from disk.

    Every order reaches Metrika once across task retries, crashes and concurrent runs: each part
    is sent under a file name unique to that send, with a durable record before the POST and
    after Metrika's answer, kept in Airflow (the task state store on Airflow 3.3+, a Variable
    before) under a key of the destination and the part's content. A retry skips the parts
    accepted earlier and resolves a send whose answer was lost (see
    :meth:`MetrikaHook.upload_simple_orders`); the records are dropped when the task succeeds, so
    a cleared or new run sends again. Uploads are never deferred: only waiting for validation may be.

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
    :param max_part_bytes: the largest part file (Metrika's limit is 1 GB).
    :param wait_for_validation: after uploading, wait until Metrika lists every uploading as
        PASSED (fail on FAILED).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between two looks at Metrika's uploadings while waiting.
    :param timeout: seconds to wait for validation before failing.
    :param force_resend: send again a part whose earlier send is unresolved (its answer was lost
        and it is not listed) even when that is not idempotent: set it only after checking in
        Metrika that the part was not stored (templated).
    :param changed_only: send only orders that are new or changed since they were last accepted,
        compared by a fingerprint of each normalised row kept in ``sync_state``; the rest are
        counted and skipped. Needs ``merge_mode`` SAVE or UPDATE.
    :param sync_state: with ``changed_only``, a directory or bucket prefix (templated; a local path
        or an ``ObjectStoragePath`` URI such as ``s3://bucket/metrika-state/``) holding one Parquet
        state file per destination (API host and counter). The state is replaced, atomically, only
        once Metrika accepted every part (or validated them, with ``wait_for_validation``).
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
        max_part_bytes: int = MAX_UPLOAD_BYTES,
        wait_for_validation: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        force_resend: bool | str = False,
        changed_only: bool = False,
        sync_state: str | None = None,
        full_refresh: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = [
            name
            for name, value in (("dataframe", dataframe), ("path", path), ("sql", sql))
            if value is not None
        ]
        if len(given) != 1:
            raise MetrikaInvalidArgumentError(
                f"{self.task_id}: pass exactly one input among dataframe=, path= and sql=; got "
                f"{', '.join(given) if given else 'none'}"
            )
        if sql is not None and not sql_conn_id:
            raise MetrikaInvalidArgumentError(
                f"{self.task_id}: sql= needs sql_conn_id= (a database connection)"
            )
        if sql_conn_id and sql is None:
            raise MetrikaInvalidArgumentError(f"{self.task_id}: sql_conn_id= is given without sql=")
        if counter_id is not None and not _is_template(counter_id):
            check_counter_id(counter_id)
        if not _is_template(merge_mode):
            check_choice("merge_mode", merge_mode, MERGE_MODES)
        self.delimiter_type = check_choice("delimiter_type", delimiter_type, DELIMITER_TYPES)
        for name, value, allowed in (
            ("on_invalid", on_invalid, ON_INVALID),
            ("duplicates", duplicates, DUPLICATES),
            ("unknown_columns", unknown_columns, UNKNOWN_COLUMNS),
            ("unknown_statuses", unknown_statuses, UNKNOWN_STATUSES),
        ):
            if value not in allowed:
                raise MetrikaInvalidArgumentError(
                    f"{name} must be one of {', '.join(allowed)}; got {value!r}"
                )
        if decimal is not None and decimal not in DECIMALS:
            raise MetrikaInvalidArgumentError(f"decimal must be '.', ',' or None; got {decimal!r}")
        _check_number("max_invalid_fraction", max_invalid_fraction, low=0.0, high=1.0)
        _check_number("poll_interval", poll_interval, low=0.0, high=None, open_low=True)
        _check_number("timeout", timeout, low=0.0, high=None, open_low=True)
        _check_number("sql_batch_rows", sql_batch_rows, low=1, high=None, integer=True)
        _check_number(
            "max_part_bytes", max_part_bytes, low=MIN_PART_BYTES, high=MAX_UPLOAD_BYTES, integer=True
        )
        if not _is_template(columns):
            _read_mapping("columns", columns, "input column to Metrika column")
        if not _is_template(status_map):
            _read_mapping("status_map", status_map, "CRM status to Metrika status")
        if not _is_template(force_resend):
            _read_flag("force_resend", force_resend)
        for name, zone in (("timezone", timezone), ("source_timezone", source_timezone)):
            if zone is not None and not _is_template(zone):
                _check_zone(name, zone)
        _check_sync_arguments(self.task_id, changed_only, sync_state, full_refresh, merge_mode)

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
        self.max_part_bytes = max_part_bytes
        self.wait_for_validation = wait_for_validation
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.force_resend = force_resend
        self.changed_only = changed_only
        self.sync_state = sync_state
        self.full_refresh = full_refresh
        self._counter_used: int | None = None
        self._sync_summary: dict[str, Any] | None = None

    @property
    def hook(self) -> MetrikaHook:
        """The Metrika hook of this task."""
        return MetrikaHook(self.metrika_conn_id)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Prepare the parts, upload those not yet accepted, push ids, optionally wait."""
        hook = self.hook
        counter = hook.resolve_counter_id(self.counter_id)
        merge_mode = check_choice("merge_mode", self.merge_mode, MERGE_MODES)
        self._counter_used = counter
        context["ti"].xcom_push(key=COUNTER_ID_XCOM_KEY, value=counter)
        # The counter's zone, read once per task unless given: a 403 here stops before any order is sent.
        timezone = self.timezone or hook.get_counter_timezone(counter)
        started = time.monotonic()
        destination = self._destination(hook, counter)
        state = self._read_state(destination, merge_mode) if destination is not None else None
        with tempfile.TemporaryDirectory(prefix="metrika-orders-") as workdir:
            prepared = self._prepare_keeping_rejects(context, Path(workdir), timezone, state)
            report = prepared.report
            self.log.info(
                "Orders prepared for counter %s (dates written in %s, the counter's time zone %s; "
                "naive input read in %s):\n%s\n",
                counter,
                timezone,
                "as given by timezone=" if self.timezone else "as read from Metrika",
                self.source_timezone or timezone,
                report.as_text(),
            )
            for warning in report.warnings:
                self.log.warning("%s", warning.describe())
            counts = report.to_dict()
            context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=counts)
            self._keep_rejects(report.rejects_path, report.rows_rejected)
            if not prepared.parts:
                if state is not None and report.orders_unchanged:
                    self.log.info(
                        "Nothing new or changed since the last sync: %s orders unchanged; the sync "
                        "state %s is kept as it is",
                        f"{report.orders_unchanged:,}",
                        state.location,
                    )
                    self._publish_sync(context, counts, state.location, state.orders, None)
                    TaskUploadJournal(context).clear()  # records of an earlier try that committed
                    return []
                raise AirflowSkipException(f"No orders to upload: {report.rows_read} rows read, none written")
            check_goal_statuses(hook, counter, report, self.unknown_statuses, self.log)
            journal = TaskUploadJournal(context)
            uploadings = self._upload_parts(hook, counter, merge_mode, prepared, journal)
            context["ti"].xcom_push(key=UPLOADING_IDS_XCOM_KEY, value=[u["uploading_id"] for u in uploadings])
            summary = upload_summary(
                prepared, uploadings, seconds=time.monotonic() - started, counter_id=counter
            )
            self.log.info("%s\n", summary)
            if self.wait_for_validation:
                pending = None
                if destination is not None and prepared.sent_orders is not None and self.deferrable:
                    from airflow_provider_metrika.operators.sync_state_store import keep_pending

                    pending = self._pending_location(context, destination)
                    keep_pending(prepared.sent_orders, pending)
                uploadings = self._wait(context, counter, uploadings, pending)
            # Not deferred (a deferred task commits in execute_complete): every part is accepted.
            if destination is not None and prepared.sent_orders is not None:
                self._commit(context, destination, prepared.sent_orders, counts)
        # Done: a cleared or new run of this task sends again, to the destination configured then.
        journal.clear()
        return uploadings

    def _destination(self, hook: MetrikaHook, counter: int) -> Destination | None:
        """Return where orders go, when this task sends only changes; None otherwise."""
        if not self.changed_only:
            return None
        from airflow_provider_metrika.simple_orders.sync_state import Destination

        return Destination(urlparse(base_url_from_connection(hook.connection)).netloc, counter)

    def _state_location(self, destination: Destination) -> Any:
        from airflow_provider_metrika.operators.sync_state_store import state_location

        if not self.sync_state or not str(self.sync_state).strip():
            raise MetrikaInvalidArgumentError(
                f"{self.task_id}: sync_state rendered empty: pass a directory or bucket prefix "
                "such as s3://bucket/metrika-state/"
            )
        return state_location(str(self.sync_state).strip(), destination)

    def _read_state(self, destination: Destination, merge_mode: str) -> SyncState:
        """Read what the destination holds (nothing, with ``full_refresh``); refuse a foreign state."""
        from airflow_provider_metrika.exceptions import MetrikaSyncStateError
        from airflow_provider_metrika.operators.sync_state_store import load_state
        from airflow_provider_metrika.simple_orders.sync_state import SyncState, SyncStateError

        _check_sync_arguments(self.task_id, True, self.sync_state, self.full_refresh, merge_mode)
        location = self._state_location(destination)
        if _read_flag("full_refresh", self.full_refresh):
            self.log.info(
                "full_refresh: every order is sent; the sync state %s is rebuilt once Metrika accepted them",
                location,
            )
            state = SyncState.empty(destination)
            state.location = str(location)
            return state
        try:
            state = load_state(location, destination)
        except SyncStateError as error:
            raise MetrikaSyncStateError(f"{self.task_id}: {error}") from None
        self.log.info(
            "Sync state %s: %s orders sent to %s before (%s in memory); only new and changed orders are sent",
            location,
            f"{state.orders:,}",
            destination.describe(),
            f"{state.nbytes:,} bytes",
        )
        return state

    def _pending_location(self, context: Context, destination: Destination) -> Any:
        """Return where this task instance keeps its accepted orders while it waits deferred."""
        from airflow_provider_metrika.operators.sync_state_store import pending_location

        ti = context["ti"]
        owner = f"{ti.dag_id}\n{ti.run_id}\n{ti.task_id}\n{ti.map_index}"
        return pending_location(self._state_location(destination), owner)

    def _commit(
        self,
        context: Context,
        destination: Destination,
        sent: Any,
        report: dict[str, Any],
    ) -> None:
        """Record the accepted orders in the sync state and publish the counts.

        :param report: the preparation report as pushed to XCom (its columns and counts).
        """
        from airflow_provider_metrika.operators.sync_state_store import commit_state

        location = self._state_location(destination)
        saved = commit_state(
            location,
            destination,
            sent,
            list(report["columns"]),
            rebuild=_read_flag("full_refresh", self.full_refresh),
        )
        if saved.conflicts:
            self.log.warning(
                "%s orders were changed in the sync state by another run while this one sent "
                "them: which value Metrika holds is unknown, so they are left out of the state "
                "and sent again next time",
                f"{saved.conflicts:,}",
            )
        self.log.info(
            "Sync state %s now tracks %s orders (%s bytes)",
            saved.location,
            f"{saved.orders:,}",
            f"{saved.bytes:,}",
        )
        self._publish_sync(context, report, saved.location, saved.orders, saved.bytes)

    def _publish_sync(
        self,
        context: Context,
        report: dict[str, Any],
        location: str,
        orders: int,
        size: int | None,
    ) -> None:
        """Push the change counts and the state to XCom and to the task's outlet asset events."""
        summary = {
            "new": report["orders_new"],
            "changed": report["orders_changed"],
            "unchanged": report["orders_unchanged"],
            "sent": report["rows_written"],
            "state_location": location,
            "state_orders": orders,
            "state_bytes": size,
            "full_refresh": _read_flag("full_refresh", self.full_refresh),
        }
        self._sync_summary = summary
        context["ti"].xcom_push(key=SYNC_STATE_XCOM_KEY, value=summary)
        outlet_events = context.get("outlet_events")
        for outlet in self.outlets or []:
            if outlet_events is not None and hasattr(outlet, "uri"):
                outlet_events[outlet].extra.update(summary)

    def _prepare(
        self, context: Context, workdir: Path, timezone: str, state: SyncState | None
    ) -> PreparedOrders:
        # The core (pandas, pyarrow) loads when a task runs, not when a DAG file is parsed.
        from airflow_provider_metrika.simple_orders import prepare_simple_orders

        progress = ProgressLog(self.log, "prepared", unit="rows")
        with self._orders_input(context) as data:
            return prepare_simple_orders(
                data,
                workdir,
                timezone=timezone,
                source_timezone=self.source_timezone or None,
                columns=_read_mapping("columns", self.columns, "input column to Metrika column"),
                status_map=_read_mapping("status_map", self.status_map, "CRM status to Metrika status"),
                hash_identifiers=self.hash_identifiers,
                on_invalid=self.on_invalid,
                max_invalid_fraction=self.max_invalid_fraction,
                duplicates=self.duplicates,
                unknown_columns=self.unknown_columns,
                rewrite_leading_8=self.rewrite_leading_8,
                decimal=self.decimal,
                delimiter=self.delimiter_type,
                max_part_bytes=self.max_part_bytes,
                progress=progress,
                sync_state=state,
            )

    def _prepare_keeping_rejects(
        self, context: Context, workdir: Path, timezone: str, state: SyncState | None
    ) -> PreparedOrders:
        """Prepare; when too many rows are rejected, keep them at ``rejects_path`` before failing."""
        from airflow_provider_metrika.exceptions import MetrikaSyncStateError
        from airflow_provider_metrika.simple_orders.errors import InvalidOrdersError
        from airflow_provider_metrika.simple_orders.sync_state import SyncStateError

        try:
            return self._prepare(context, workdir, timezone, state)
        except InvalidOrdersError as exc:
            kept = self._keep_rejects(exc.report.rejects_path, exc.report.rows_rejected)
            raise exc.with_rejects_at(kept or "not kept (set rejects_path= to keep them)") from None
        except SyncStateError as error:
            raise MetrikaSyncStateError(f"{self.task_id}: {error}") from None

    def _keep_rejects(self, rejects: Path | None, count: int) -> str | None:
        """Copy the rejected rows to ``rejects_path``; return where, or None when not kept."""
        if rejects is None or not count or not rejects.exists():
            return None
        if not self.rejects_path:
            self.log.warning(
                "%s rejected rows are summarised above; set rejects_path= to keep them with their reasons",
                f"{count:,}",
            )
            return None
        target = storage_path(self.rejects_path)
        copy_to_storage(rejects, target)
        self.log.info("%s rejected rows, with their reasons, written to %s", f"{count:,}", target)
        return str(target)

    @contextmanager
    def _orders_input(self, context: Context) -> Iterator[Any]:
        if isinstance(self.dataframe, XComArg):
            yield self.dataframe.resolve(context)
        elif self.dataframe is not None:
            yield self.dataframe
        elif self.path is not None:
            source = storage_path(self.path)
            self.log.info("Reading orders from %s", source)
            with source.open("rb") as stream:
                yield stream
        else:
            assert self.sql is not None
            assert self.sql_conn_id is not None
            self.log.info(
                "Reading orders from %s with a query, %s rows per batch",
                self.sql_conn_id,
                self.sql_batch_rows,
            )
            yield sql_batches(self.sql_conn_id, self.sql, self.sql_parameters, self.sql_batch_rows)

    def _upload_parts(
        self,
        hook: MetrikaHook,
        counter: int,
        merge_mode: str,
        prepared: PreparedOrders,
        journal: TaskUploadJournal,
    ) -> list[dict[str, Any]]:
        force_resend = _read_flag("force_resend", self.force_resend)
        self.log.info("Upload records of this task are kept in %s", journal.where)
        uploadings: list[dict[str, Any]] = []
        total = len(prepared.parts)
        for number, part in enumerate(prepared.parts, start=1):
            label = f"part {number} of {total} ({part.rows:,} orders, {part.bytes:,} bytes)"
            uploading = hook.upload_simple_orders(
                counter,
                part.path,
                merge_mode=merge_mode,
                delimiter_type=self.delimiter_type,
                filename=f"orders-{number:05d}.csv",
                expected_rows=part.rows,
                all_rows_have_ids=part.rows_without_id == 0,
                journal=journal,
                content_sha256=part.sha256,
                force_resend=force_resend,
            )
            status = uploading.get("api_validation_status")
            self.log.info("%s: uploading %s, status %s", label, uploading["uploading_id"], status)
            if status == UPLOADING_FAILED:
                raise MetrikaUploadingFailedError(_failed_part_message(label, uploading, uploadings))
            uploadings.append(uploading)
        return uploadings

    def _wait(
        self,
        context: Context,
        counter: int,
        uploadings: list[dict[str, Any]],
        pending: Any,
    ) -> list[dict[str, Any]]:
        """Wait until Metrika lists every uploading as PASSED: in the triggerer, or polling here.

        :param pending: with ``changed_only`` and ``deferrable``, the copy of the accepted orders
            that :meth:`execute_complete` records in the sync state once Metrika validated them,
            or drops when the wait failed (the task resumes in a new process).
        """
        if self.deferrable:
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
        wait = UploadingsWait.from_targets(counter, read_uploading_targets(uploadings))
        deadline = time.monotonic() + self.timeout
        hook = self.hook
        while True:
            wait.update(hook.find_uploadings(counter, wait.pending, not_before=wait.not_before()))
            if wait.failed:
                raise MetrikaUploadingFailedError(wait.failure_message())
            if not wait.pending:
                self.log.info("%s", wait.success_message())
                return list(wait.uploadings.values())
            if time.monotonic() >= deadline:
                raise MetrikaUploadingTimeoutError(wait.timeout_message(f"within {self.timeout:g} s"))
            self.log.info("Waiting for Metrika: %s", wait.describe_pending())
            time.sleep(self.poll_interval)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Finish after the trigger: return the PASSED uploadings, or raise on failure or timeout.

        With ``changed_only``, the orders accepted before deferring are recorded in the sync state
        now that Metrika validated them; on failure the state stays as it was.
        """
        pending = destination = None
        if self.changed_only:
            ti = context["ti"]
            counter = ti.xcom_pull(task_ids=self.task_id, key=COUNTER_ID_XCOM_KEY, map_indexes=ti.map_index)
            destination = self._destination(self.hook, counter)
            pending = self._pending_location(context, destination) if destination is not None else None
        try:
            found = result_from_event(event)
            self.log.info("Metrika validated %d uploading(s): all PASSED", len(found))
            if destination is not None and pending is not None:
                report = ti.xcom_pull(task_ids=self.task_id, key=REPORT_XCOM_KEY, map_indexes=ti.map_index)
                self._commit(context, destination, pending, report)
        finally:
            if pending is not None:
                pending.unlink(missing_ok=True)
        TaskUploadJournal(context).clear()
        return list(found.values())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        Describe the run for OpenLineage: the file or query read, the counter's orders written.

        The OpenLineage provider is optional: it is imported here, only when it calls this.

        :param task_instance: the finished task instance.
        """
        from airflow_provider_metrika.operators.lineage import lineage_classes

        Dataset, SQLJobFacet, OperatorLineage = lineage_classes()

        hook = self.hook
        counter = self._counter_used or hook.resolve_counter_id(self.counter_id)
        api = urlparse(base_url_from_connection(hook.connection)).netloc
        output_facets: dict[str, Any] = {}
        if self._sync_summary is not None:
            from airflow_provider_metrika.operators.lineage import sync_output_facets

            output_facets = sync_output_facets(self._sync_summary)
        outputs = [
            Dataset(
                namespace=f"metrika://{api}",
                name=f"counter/{counter}/simple_orders",
                facets=output_facets,
            )
        ]
        inputs = []
        job_facets: dict[str, Any] = {}
        if self.path is not None:
            source = storage_path(self.path)
            namespace = f"{source.protocol or 'file'}://{source.bucket}" if source.bucket else "file"
            inputs.append(
                Dataset(namespace=namespace, name=source.key if source.bucket else str(source.path))
            )
        elif self.sql is not None and self.sql_conn_id:
            connection = BaseHook.get_connection(self.sql_conn_id)
            namespace = f"{connection.conn_type}://{connection.host or self.sql_conn_id}"
            inputs.append(Dataset(namespace=namespace, name=connection.schema or self.sql_conn_id))
            job_facets["sql"] = SQLJobFacet(query=self.sql)
        return OperatorLineage(inputs=inputs, outputs=outputs, job_facets=job_facets)


def _check_sync_arguments(
    task_id: str, changed_only: bool, sync_state: str | None, full_refresh: Any, merge_mode: Any
) -> None:
    """Refuse sync arguments that do not go together, when the DAG is parsed (and again when run)."""
    if changed_only and sync_state is None:
        raise MetrikaInvalidArgumentError(
            f"{task_id}: changed_only=True needs sync_state=, a directory or bucket prefix where the "
            "state of what was sent is kept, e.g. sync_state='s3://bucket/metrika-state/'"
        )
    if not changed_only and sync_state is not None:
        raise MetrikaInvalidArgumentError(f"{task_id}: sync_state= is used only with changed_only=True")
    if not _is_template(full_refresh) and _read_flag("full_refresh", full_refresh) and not changed_only:
        raise MetrikaInvalidArgumentError(
            f"{task_id}: full_refresh=True rebuilds the state of changed_only=True; without "
            "changed_only every order is sent anyway"
        )
    if changed_only and merge_mode == "APPEND":
        raise MetrikaInvalidArgumentError(
            f"{task_id}: changed_only=True sends a changed order again whole, and merge_mode=APPEND "
            "would add its list values a second time: use merge_mode='SAVE' or 'UPDATE'"
        )


def _failed_part_message(label: str, uploading: dict[str, Any], accepted: list[dict[str, Any]]) -> str:
    errors = uploading.get("api_validation_errors") or ["(Metrika gave no details)"]
    lines = [
        f"Metrika rejected {label}: uploading {uploading['uploading_id']} is FAILED; "
        "nothing from it was loaded."
    ]
    lines += [f"  {error}" for error in errors[:20]]
    if len(errors) > 20:
        lines.append(f"  ... and {len(errors) - 20} more")
    if accepted:
        ids = ", ".join(u["uploading_id"] for u in accepted)
        lines.append(f"Parts before it were accepted and are not sent again on retry: {ids}")
    return "\n".join(lines)


def _read_mapping(name: str, value: Any, what: str) -> dict[str, str] | None:
    """Return a mapping argument as a dict; a rendered template's text (JSON or a Python repr) is read."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().startswith("{"):
        value = parse_literal(value.strip(), name)
    if not isinstance(value, Mapping):
        raise MetrikaInvalidArgumentError(
            f"{name} must be a mapping of {what}, e.g. {{'order_id': 'id'}}; got {str(value)[:100]!r}"
        )
    return dict(value) or None


def _read_flag(name: str, value: Any) -> bool:
    """Return a boolean argument; a rendered template's ``True`` / ``false`` text is read."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MetrikaInvalidArgumentError(f"{name} must be True or False; got {value!r}")


def _check_zone(name: str, zone: Any) -> None:
    """Refuse a time zone name that is not an IANA zone, when the DAG is parsed."""
    if not isinstance(zone, str) or not zone.strip():
        raise MetrikaInvalidArgumentError(
            f"{name} must be an IANA time zone name such as Europe/Moscow or UTC; got {zone!r}"
        )
    try:
        zoneinfo.ZoneInfo(zone.strip())
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise MetrikaInvalidArgumentError(
            f"{name} {zone!r} is not a known IANA time zone (e.g. Europe/Moscow, UTC)"
        ) from None


def _check_number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None,
    open_low: bool = False,
    integer: bool = False,
) -> None:
    kinds = (int,) if integer else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok:
        ok = (value > low if open_low else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"greater than {low:g}" if open_low else f"at least {low:g}"
        if high is not None:
            bound += f" and at most {high:g}"
        kind = "an integer" if integer else "a number"
        raise MetrikaInvalidArgumentError(f"{name} must be {kind} {bound}; got {value!r}")
