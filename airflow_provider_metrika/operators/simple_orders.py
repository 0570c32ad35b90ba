"""Operator that validates CRM orders and uploads them to Metrika as simplified-orders CSV parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_metrika._compat import conf
from airflow_provider_metrika.arguments import (
    check_choice,
    check_flags,
    check_option,
    check_path,
    check_zone,
    is_template,
    read_mapping,
    read_number,
)
from airflow_provider_metrika.constants import (
    DECIMALS,
    DEFAULT_CONN_ID,
    DELIMITER_TYPES,
    DUPLICATES,
    MAX_UPLOAD_BYTES,
    MERGE_MODES,
    ON_INVALID,
    UNKNOWN_COLUMNS,
)
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.operators._goal_check import UNKNOWN_STATUSES
from airflow_provider_metrika.operators.upload import (
    SHARED_TEMPLATE_FIELDS,
    SYNC_STATE_XCOM_KEY,
    UPLOADING_IDS_XCOM_KEY,
    MetrikaUploadOperator,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.simple_orders import SimpleOrdersEndpoint
    from airflow_provider_metrika.simple_orders import PreparedOrders
    from airflow_provider_metrika.simple_orders.sync_state import SyncState

__all__ = [
    "REPORT_XCOM_KEY",
    "SYNC_STATE_XCOM_KEY",
    "UPLOADING_IDS_XCOM_KEY",
    "SimpleOrdersUploadOperator",
]

#: XCom key of the preparation report (counts only, no order data).
REPORT_XCOM_KEY = "orders_report"
#: Locals of ``__init__`` that are not the operator's own arguments.
_NOT_ARGUMENTS = frozenset({"self", "kwargs", "__class__"})
#: The orders core's options, as far as they are known before rendering.
_FLAGS = ("hash_identifiers", "rewrite_leading_8")


class SimpleOrdersUploadOperator(MetrikaUploadOperator):
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
        *SHARED_TEMPLATE_FIELDS,
        "merge_mode",
        "columns",
        "status_map",
        "timezone",
        "source_timezone",
        "rejects_path",
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
    report_xcom_key = REPORT_XCOM_KEY
    dataset_name = "simple_orders"
    row_noun = "orders"
    supports_changed_only = True

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
        arguments = {name: value for name, value in locals().items() if name not in _NOT_ARGUMENTS}
        self.delimiter_type = _check_orders_arguments(kwargs.get("task_id", "task"), arguments)
        super().__init__(
            counter_id=counter_id,
            dataframe=dataframe,
            path=path,
            sql=sql,
            sql_conn_id=sql_conn_id,
            sql_parameters=sql_parameters,
            sql_batch_rows=sql_batch_rows,
            metrika_conn_id=metrika_conn_id,
            max_part_bytes=max_part_bytes,
            wait_for_validation=wait_for_validation,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            force_resend=force_resend,
            archive_path=archive_path,
            changed_only=changed_only,
            sync_state=sync_state,
            full_refresh=full_refresh,
            **kwargs,
        )
        self.merge_mode = merge_mode
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
        self._merge_mode = "SAVE"
        self._timezone = ""
        self._goal_check: Any = None

    # -- the kind ------------------------------------------------------------------------------------

    def read_options(self, counter: int) -> None:
        """Check the rendered merge mode (with ``changed_only`` too); read the counter's zone unless given."""
        self._merge_mode = check_choice("merge_mode", self.merge_mode, MERGE_MODES)
        refused = _changed_only_refusal(self._merge_mode) if self.changed_only else None
        if refused is not None:
            raise MetrikaInvalidArgumentError(f"{self.task_id}: {refused}")
        # A 403 here stops before any order is sent.
        self._timezone = self.timezone or self.hook.get_counter_timezone(counter)

    def prepare(
        self, context: Context, workdir: Path, counter: int, state: SyncState | None
    ) -> PreparedOrders:
        """Prepare the orders with the orders core; keep the rejected rows at ``rejects_path`` first."""
        # The core (pandas, pyarrow) loads when a task runs, not when a DAG file is parsed.
        from airflow_provider_metrika.exceptions import MetrikaSyncStateError
        from airflow_provider_metrika.operators._inputs import keep_rejects, task_input
        from airflow_provider_metrika.progress import ProgressLog
        from airflow_provider_metrika.simple_orders import InvalidOrdersError, prepare_simple_orders
        from airflow_provider_metrika.simple_orders.sync_state import SyncStateError

        source = {
            "dataframe": self.dataframe,
            "path": self.path,
            "sql": self.sql,
            "sql_conn_id": self.sql_conn_id,
            "sql_parameters": self.sql_parameters,
            "sql_batch_rows": self.sql_batch_rows,
        }
        try:
            # A line at least every few seconds, from reading the first row to the last check.
            with (
                ProgressLog(self.log, "prepared", unit="rows") as progress,
                task_input(context, **source, noun="orders", log=self.log) as data,
            ):
                prepared = prepare_simple_orders(
                    data,
                    workdir,
                    timezone=self._timezone,
                    source_timezone=self.source_timezone or None,
                    columns=read_mapping("columns", self.columns, "input column to Metrika column"),
                    status_map=read_mapping("status_map", self.status_map, "CRM status to Metrika status"),
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
        except InvalidOrdersError as exc:
            report = exc.report
            kept = keep_rejects(
                self.task_id, self.rejects_path, report.rejects_path, report.rows_rejected, self.log
            )
            raise exc.with_rejects_at(kept or "not kept (set rejects_path= to keep them)") from None
        except SyncStateError as error:
            raise MetrikaSyncStateError(f"{self.task_id}: {error}") from None
        report = prepared.report
        kept = keep_rejects(
            self.task_id, self.rejects_path, report.rejects_path, report.rows_rejected, self.log
        )
        if kept is not None:
            # The report, its XCom and every message name the kept file, not the worker's temporary one.
            prepared = replace(prepared, report=replace(report, rejects_path=kept))
        self._log_report(prepared, counter)
        return prepared

    def check_before_sending(
        self, context: Context, counter: int, prepared: PreparedOrders
    ) -> dict[str, Any]:
        """Check goal-id statuses and ``goals`` against the counter's goals; push the report; enforce."""
        from airflow_provider_metrika.operators._goal_check import GoalCheck, check_goals

        goals = check_goals(self.hook, counter, prepared.report, self.log) if prepared.parts else GoalCheck()
        report = {**prepared.report.to_dict(), "goal_check": goals.to_dict()}
        context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report)
        goals.enforce(unknown_statuses=self.unknown_statuses, unknown_goals=self.unknown_goals, log=self.log)
        return report

    def endpoint(self, counter: int) -> SimpleOrdersEndpoint:
        """Return ``POST .../data/simple_orders`` of this counter, merge mode and delimiter."""
        from airflow_provider_metrika.delivery.simple_orders import SimpleOrdersEndpoint

        return SimpleOrdersEndpoint(self.hook, counter, self._merge_mode, self.delimiter_type)

    def manifest_about(self, counter: int) -> dict[str, Any]:
        """Return the counter, merge mode and delimiter, for the archive's manifest."""
        return {"counter_id": counter, "merge_mode": self._merge_mode, "delimiter_type": self.delimiter_type}

    def summary_counts(self, report: Any) -> list[tuple[str, int, str]]:
        """Return rows read, written and rejected, and the changed-only counts."""
        counts = [
            ("rows read", report.rows_read, ""),
            ("rows written", report.rows_written, ""),
            ("rows rejected", report.rows_rejected, ""),
        ]
        if report.changed_only:
            counts += [
                ("new orders", report.orders_new, ""),
                ("changed", report.orders_changed, ""),
                ("unchanged", report.orders_unchanged, "(skipped)"),
            ]
        return counts

    def nothing_prepared(self, report: Any) -> str:
        """Say that the input had no orders to send."""
        return f"No orders to upload: {report.rows_read} rows read, none written"

    def _log_report(self, prepared: PreparedOrders, counter: int) -> None:
        """Log the preparation report and its warnings."""
        self.log.info(
            "Orders prepared for counter %s (dates written in %s, the counter's time zone %s; "
            "naive input read in %s):\n%s\n",
            counter,
            self._timezone,
            "as given by timezone=" if self.timezone else "as read from Metrika",
            self.source_timezone or self._timezone,
            prepared.report.as_text(),
        )
        for warning in prepared.report.warnings:
            self.log.warning("%s", warning.describe())


def _check_orders_arguments(task_id: str, arguments: Mapping[str, Any]) -> str:
    """Refuse the orders options that are wrong alone or together; return ``delimiter_type``.

    :param task_id: the task, for messages.
    :param arguments: the operator's named arguments, name -> value.
    """
    check_option("on_invalid", arguments["on_invalid"], ON_INVALID)
    check_option("duplicates", arguments["duplicates"], DUPLICATES)
    check_option("unknown_columns", arguments["unknown_columns"], UNKNOWN_COLUMNS)
    check_option("unknown_statuses", arguments["unknown_statuses"], UNKNOWN_STATUSES)
    check_option("unknown_goals", arguments["unknown_goals"], UNKNOWN_STATUSES)
    decimal = arguments["decimal"]
    if decimal is not None and decimal not in DECIMALS:
        raise MetrikaInvalidArgumentError(f"decimal must be '.', ',' or None; got {decimal!r}")
    read_number("max_invalid_fraction", arguments["max_invalid_fraction"], low=0.0, high=1.0)
    for name, what in (
        ("columns", "input column to Metrika column"),
        ("status_map", "CRM status to Metrika status"),
    ):
        if not is_template(arguments[name]):
            read_mapping(name, arguments[name], what)
    for name in ("timezone", "source_timezone"):
        zone = arguments[name]
        if zone is not None and not is_template(zone):
            check_zone(name, zone)
    merge_mode = arguments["merge_mode"]
    if not is_template(merge_mode):
        check_choice("merge_mode", merge_mode, MERGE_MODES)
        refused = _changed_only_refusal(merge_mode) if arguments["changed_only"] is True else None
        if refused is not None:
            raise MetrikaInvalidArgumentError(f"{task_id}: {refused}")
    check_path("rejects_path", arguments["rejects_path"], "a path or URI (e.g. s3://bucket/rejects/)")
    check_flags({name: arguments[name] for name in _FLAGS})
    return check_choice("delimiter_type", arguments["delimiter_type"], DELIMITER_TYPES)


def _changed_only_refusal(merge_mode: str) -> str | None:
    """Say why ``changed_only`` cannot send in this merge mode (the endpoint's re-send rule), or None."""
    from airflow_provider_metrika.delivery.simple_orders import merge_mode_resends_harmlessly

    if merge_mode_resends_harmlessly(merge_mode):
        return None
    return (
        f"changed_only=True sends a changed order again whole, and merge_mode={merge_mode} would add "
        "its list values a second time: use merge_mode='SAVE' or 'UPDATE'"
    )
