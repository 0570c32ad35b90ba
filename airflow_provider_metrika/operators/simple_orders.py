"""Operator that validates CRM orders and uploads them to Metrika as simplified-orders CSV parts."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from airflow.providers.common.compat.sdk import AirflowSkipException, BaseHook, BaseOperator, XComArg, conf

from airflow_provider_metrika.constants import (
    DEFAULT_CONN_ID,
    DELIMITER_TYPES,
    MAX_UPLOAD_BYTES,
    MERGE_MODES,
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
from airflow_provider_metrika.operators.order_sources import sql_batches, storage_path
from airflow_provider_metrika.operators.upload_ledger import UploadLedger
from airflow_provider_metrika.operators.upload_summary import upload_summary
from airflow_provider_metrika.progress import ProgressLog
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger
from airflow_provider_metrika.uploading_status import (
    UploadingsWait,
    read_uploading_targets,
    result_from_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.simple_orders import PreparedOrders

ON_INVALID = ("fail", "skip")
DUPLICATES = ("error", "keep_last")
UNKNOWN_COLUMNS = ("error", "drop")
#: XCom key of the uploading ids, pushed before any waiting.
UPLOADING_IDS_XCOM_KEY = "uploading_ids"
#: XCom key of the preparation report (counts only, no order data).
REPORT_XCOM_KEY = "orders_report"


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

    A retry of the task does not send again a part that Metrika accepted in an earlier try (parts
    are recognised by content hash, kept in the task state store). Uploads are never deferred:
    only waiting for validation may be.

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
    :param timezone: IANA time zone in which order dates are written (templated); default: the
        counter's ``time_zone_name``, read from Metrika.
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
    :param rewrite_leading_8: rewrite Russian phones written 8XXXXXXXXXX to 7XXXXXXXXXX.
    :param max_part_bytes: the largest part file (Metrika's limit is 1 GB).
    :param wait_for_validation: after uploading, wait until Metrika lists every uploading as
        PASSED (fail on FAILED).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between two looks at Metrika's uploadings while waiting.
    :param timeout: seconds to wait for validation before failing.
    """

    template_fields: Sequence[str] = (
        "counter_id",
        "path",
        "sql",
        "sql_parameters",
        "merge_mode",
        "columns",
        "timezone",
        "rejects_path",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "sql": "sql",
        "columns": "json",
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
        columns: Mapping[str, str] | None = None,
        status_map: Mapping[str, str] | None = None,
        hash_identifiers: bool = False,
        on_invalid: str = "fail",
        max_invalid_fraction: float = 0.0,
        rejects_path: str | None = None,
        duplicates: str = "error",
        unknown_columns: str = "error",
        rewrite_leading_8: bool = False,
        max_part_bytes: int = MAX_UPLOAD_BYTES,
        wait_for_validation: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
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
        ):
            if value not in allowed:
                raise MetrikaInvalidArgumentError(
                    f"{name} must be one of {', '.join(allowed)}; got {value!r}"
                )
        _check_number("max_invalid_fraction", max_invalid_fraction, low=0.0, high=1.0)
        _check_number("poll_interval", poll_interval, low=0.0, high=None, open_low=True)
        _check_number("timeout", timeout, low=0.0, high=None, open_low=True)
        _check_number("sql_batch_rows", sql_batch_rows, low=1, high=None, integer=True)
        _check_number("max_part_bytes", max_part_bytes, low=1024, high=MAX_UPLOAD_BYTES, integer=True)
        if columns is not None and not isinstance(columns, Mapping) and not _is_template(columns):
            raise MetrikaInvalidArgumentError(
                f"columns must be a mapping of input column to Metrika column; got {columns!r}"
            )
        if status_map is not None and not isinstance(status_map, Mapping):
            raise MetrikaInvalidArgumentError(
                f"status_map must be a mapping of CRM status to Metrika status; got {status_map!r}"
            )

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
        self.columns = columns
        self.status_map = status_map
        self.hash_identifiers = hash_identifiers
        self.on_invalid = on_invalid
        self.max_invalid_fraction = max_invalid_fraction
        self.rejects_path = rejects_path
        self.duplicates = duplicates
        self.unknown_columns = unknown_columns
        self.rewrite_leading_8 = rewrite_leading_8
        self.max_part_bytes = max_part_bytes
        self.wait_for_validation = wait_for_validation
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._counter_used: int | None = None

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
        timezone = self.timezone or hook.get_counter_timezone(counter)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="metrika-orders-") as workdir:
            prepared = self._prepare(context, Path(workdir), timezone)
            report = prepared.report
            self.log.info(
                "Orders prepared for counter %s (dates in %s):\n%s", counter, timezone, report.as_text()
            )
            context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report.to_dict())
            self._keep_rejects(report.rejects_path, report.rows_rejected)
            if not prepared.parts:
                raise AirflowSkipException(f"No orders to upload: {report.rows_read} rows read, none written")
            uploadings = self._upload_parts(context, hook, counter, merge_mode, prepared)
        context["ti"].xcom_push(key=UPLOADING_IDS_XCOM_KEY, value=[u["uploading_id"] for u in uploadings])
        summary = upload_summary(prepared, uploadings, seconds=time.monotonic() - started, counter_id=counter)
        self.log.info("%s", summary)
        if self.wait_for_validation:
            return self._wait(context, counter, uploadings)
        return uploadings

    def _prepare(self, context: Context, workdir: Path, timezone: str) -> PreparedOrders:
        # The core (pandas, pyarrow) loads when a task runs, not when a DAG file is parsed.
        from airflow_provider_metrika.simple_orders import prepare_simple_orders

        progress = ProgressLog(self.log, "prepared", unit="rows")
        with self._orders_input(context) as data:
            return prepare_simple_orders(
                data,
                workdir,
                timezone=timezone,
                columns=dict(self.columns) if self.columns else None,
                status_map=dict(self.status_map) if self.status_map else None,
                hash_identifiers=self.hash_identifiers,
                on_invalid=self.on_invalid,
                max_invalid_fraction=self.max_invalid_fraction,
                duplicates=self.duplicates,
                unknown_columns=self.unknown_columns,
                rewrite_leading_8=self.rewrite_leading_8,
                delimiter=self.delimiter_type,
                max_part_bytes=self.max_part_bytes,
                progress=progress,
            )

    def _keep_rejects(self, rejects: Path | None, count: int) -> None:
        if rejects is None or not count:
            return
        if not self.rejects_path:
            self.log.warning(
                "%s rejected rows are summarised above; set rejects_path= to keep them with their reasons",
                f"{count:,}",
            )
            return
        target = storage_path(self.rejects_path)
        with rejects.open("rb") as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        self.log.info("%s rejected rows, with their reasons, written to %s", f"{count:,}", target)

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
        self, context: Context, hook: MetrikaHook, counter: int, merge_mode: str, prepared: PreparedOrders
    ) -> list[dict[str, Any]]:
        ledger = UploadLedger(context)
        uploadings: list[dict[str, Any]] = []
        total = len(prepared.parts)
        for number, part in enumerate(prepared.parts, start=1):
            label = f"part {number} of {total} ({part.rows:,} orders, {part.bytes:,} bytes)"
            earlier = ledger.accepted(part.sha256)
            if earlier is not None:
                self.log.info(
                    "%s: accepted in an earlier try as %s; not sent again", label, earlier["uploading_id"]
                )
                uploadings.append(earlier)
                continue
            uploading = hook.upload_simple_orders(
                counter,
                part.path,
                merge_mode=merge_mode,
                delimiter_type=self.delimiter_type,
                filename=f"orders-{number:05d}.csv",
                expected_rows=part.rows,
                all_rows_have_ids=part.rows_without_id == 0,
            )
            status = uploading.get("api_validation_status")
            self.log.info("%s: uploading %s, status %s", label, uploading["uploading_id"], status)
            if status == UPLOADING_FAILED:
                raise MetrikaUploadingFailedError(_failed_part_message(label, uploading, uploadings))
            ledger.record(part.sha256, uploading)
            uploadings.append(uploading)
        ledger.forget_all()
        return uploadings

    def _wait(self, context: Context, counter: int, uploadings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Wait until Metrika lists every uploading as PASSED: in the triggerer, or polling here."""
        if self.deferrable:
            # The uploads are done and their ids are in XCom: only the waiting is deferred, so a
            # restarted triggerer replays polls, never uploads.
            self.defer(
                trigger=MetrikaUploadingTrigger.from_uploadings(
                    counter_id=counter,
                    uploadings=uploadings,
                    poll_interval=self.poll_interval,
                    timeout=self.timeout,
                    metrika_conn_id=self.metrika_conn_id,
                ),
                method_name="execute_complete",
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
        """Finish after the trigger: return the PASSED uploadings, or raise on failure or timeout."""
        found = result_from_event(event)
        self.log.info("Metrika validated %d uploading(s): all PASSED", len(found))
        return list(found.values())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """
        Describe the run for OpenLineage: the file or query read, the counter's orders written.

        The OpenLineage provider is optional: it is imported here, only when it calls this.

        :param task_instance: the finished task instance.
        """
        from airflow.providers.common.compat.openlineage.facet import Dataset, SQLJobFacet
        from airflow.providers.openlineage.extractors import OperatorLineage

        hook = self.hook
        counter = self._counter_used or hook.resolve_counter_id(self.counter_id)
        api = urlparse(base_url_from_connection(hook.connection)).netloc
        outputs = [Dataset(namespace=f"metrika://{api}", name=f"counter/{counter}/simple_orders")]
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
