"""Operators that upload offline conversions and calls to Metrika, exactly once, and check they counted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_metrika._compat import AirflowSkipException, conf
from airflow_provider_metrika.arguments import (
    check_choice,
    check_zone,
    is_template,
    read_mapping,
    read_number,
)
from airflow_provider_metrika.constants import DECIMALS, DEFAULT_CONN_ID, MAX_UPLOAD_BYTES
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.operators.upload import SHARED_TEMPLATE_FIELDS, MetrikaUploadOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.offline_conversions import OfflineDataEndpoint
    from airflow_provider_metrika.offline_conversions import PreparedConversions

#: XCom key of Metrika's figures once the uploads are processed (or as the POST answered).
PROCESSING_XCOM_KEY = "processing"
#: Identifier types a conversions file may carry (calls: no ``PURCHASE_ID``).
CLIENT_ID_TYPES = ("CLIENT_ID", "USER_ID", "YCLID", "PURCHASE_ID")


class _OfflineDataUploadOperator(MetrikaUploadOperator):
    """
    What offline conversions and calls share: the core's checks, the window, the comment tag, the wait.

    :param counter_id: the Metrika counter (templated); None uses the connection's default.
    :param dataframe: a pandas DataFrame, or an upstream task's XCom of one.
    :param path: a CSV file as a local path or an object-storage URI (templated).
    :param sql: a SELECT (templated), run on ``sql_conn_id`` and fetched in batches.
    :param sql_conn_id: a database connection whose hook is a common.sql ``DbApiHook``.
    :param sql_parameters: parameters of ``sql`` (templated).
    :param sql_batch_rows: rows fetched per batch.
    :param metrika_conn_id: the Metrika connection.
    :param columns: renames of input columns to Metrika's, e.g. ``{"paid_at": "DateTime"}`` (templated).
    :param client_id_type: ``CLIENT_ID``, ``USER_ID``, ``YCLID`` (conversions also ``PURCHASE_ID``);
        default: the one identifier column present (templated).
    :param timezone: the counter's IANA zone, in which naive times are read (templated); default:
        the counter's ``time_zone_name`` (needs ``metrika:read``).
    :param source_timezone: the zone of naive input times when it is not the counter's (templated).
    :param decimal: ``"."`` or ``","`` for ``Price`` text; None: ``"."``, or either in a ``;`` file.
    :param max_part_bytes: the largest part file (Metrika's limit is 1 GB).
    :param wait_for_processing: after uploading, wait until Metrika has processed every upload
        (``PROCESSED`` or ``LINKAGE_FAILURE``); processing takes up to a few hours.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between two looks while waiting (default five minutes).
    :param timeout: seconds to wait for processing before failing (default six hours).
    :param max_dropped_fraction: the largest share of rows sent that Metrika may drop as invalid
        (``line_quantity`` below ``source_quantity``) before the task fails; default 0.
    :param force_resend: send again, once, a part whose send by an earlier try is unresolved.
    :param archive_path: where the exact parts sent are kept, with a ``manifest.json`` (templated).
    """

    template_fields: Sequence[str] = (
        *SHARED_TEMPLATE_FIELDS,
        "columns",
        "client_id_type",
        "timezone",
        "source_timezone",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "columns": "json"}
    template_ext: Sequence[str] = (".sql",)
    ui_color = "#ffcc00"
    #: The core's kind and how messages name it.
    core_kind: ClassVar[str] = "conversions"
    noun: ClassVar[str] = "offline conversions"

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
        metrika_conn_id: str = DEFAULT_CONN_ID,
        columns: Mapping[str, str] | str | None = None,
        client_id_type: str | None = None,
        timezone: str | None = None,
        source_timezone: str | None = None,
        decimal: str | None = None,
        max_part_bytes: int = MAX_UPLOAD_BYTES,
        wait_for_processing: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 300.0,
        timeout: float = 6 * 3600.0,
        max_dropped_fraction: float = 0.0,
        force_resend: bool | str = False,
        archive_path: str | None = None,
        **kwargs: Any,
    ) -> None:
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
            wait_for_validation=wait_for_processing,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            force_resend=force_resend,
            archive_path=archive_path,
            **kwargs,
        )
        if not is_template(columns):
            read_mapping("columns", columns, "input column to Metrika column")
        if client_id_type is not None and not is_template(client_id_type):
            check_choice("client_id_type", client_id_type, self.client_id_types())
        for name, zone in (("timezone", timezone), ("source_timezone", source_timezone)):
            if zone is not None and not is_template(zone):
                check_zone(name, zone)
        if decimal is not None and decimal not in DECIMALS:
            raise MetrikaInvalidArgumentError(f"decimal must be '.', ',' or None; got {decimal!r}")
        read_number("max_dropped_fraction", max_dropped_fraction, low=0.0, high=1.0)
        self.columns = columns
        self.client_id_type = client_id_type
        self.timezone = timezone
        self.source_timezone = source_timezone
        self.decimal = decimal
        self.wait_for_processing = wait_for_processing
        self.max_dropped_fraction = max_dropped_fraction
        self._timezone = ""
        self._client_id_type = ""

    @classmethod
    def client_id_types(cls) -> tuple[str, ...]:
        """Return the identifier types this kind accepts."""
        return CLIENT_ID_TYPES

    def read_options(self, counter: int) -> None:
        """Read the counter's zone once per try unless given (a 403 stops before anything is sent)."""
        self._timezone = self.timezone or self.hook.get_counter_timezone(counter)

    def prepare(self, context: Context, workdir: Path, counter: int, state: Any) -> PreparedConversions:
        """Check every row with the core and write the parts; an empty input skips the task."""
        from airflow_provider_metrika.offline_conversions import EmptyConversionsError, prepare_calls
        from airflow_provider_metrika.offline_conversions import prepare_offline_conversions as conversions
        from airflow_provider_metrika.operators._inputs import task_input
        from airflow_provider_metrika.progress import ProgressLog

        prepare = conversions if self.core_kind == "conversions" else prepare_calls
        source = {"dataframe": self.dataframe, "path": self.path, "sql": self.sql, "noun": self.noun}
        source |= {"sql_conn_id": self.sql_conn_id, "sql_parameters": self.sql_parameters}
        source |= {"sql_batch_rows": self.sql_batch_rows, "log": self.log}
        try:
            with (
                ProgressLog(self.log, "checked", unit="rows") as progress,
                task_input(context, **source) as data,
            ):
                prepared = prepare(
                    data,
                    workdir,
                    timezone=self._timezone,
                    source_timezone=self.source_timezone or None,
                    client_id_type=self.client_id_type or None,
                    columns=read_mapping("columns", self.columns, "input column to Metrika column"),
                    decimal=self.decimal,
                    max_part_bytes=self.max_part_bytes,
                    progress=progress,
                )
        except EmptyConversionsError as exc:
            raise AirflowSkipException(f"No {self.noun} to upload: {exc}") from None
        report = prepared.report
        self.log.info("%s for counter %s:\n%s\n", self.noun.capitalize(), counter, report.as_text())
        for warning in report.warnings:
            self.log.warning("%s", warning.describe())
        self._client_id_type = str(report.client_id_type)
        return prepared

    def check_before_sending(self, context: Context, counter: int, prepared: Any) -> dict[str, Any]:
        """Push the report; refuse a window not open yet (and, for conversions, unknown targets)."""
        from airflow_provider_metrika.exceptions import MetrikaAccessDeniedError
        from airflow_provider_metrika.operators._offline_checks import check_window

        report = prepared.report.to_dict()
        context["ti"].xcom_push(key=self.report_xcom_key, value=report)
        try:
            opens = self.window_opens(counter)
        except MetrikaAccessDeniedError:
            self.log.warning("The token cannot read counter %s's window for %s (403)", counter, self.noun)
        else:
            check_window(opens, counter, self._timezone, self.noun)
        return report

    def window_opens(self, counter: int) -> Any:
        """Return the day the counter's window for this kind opens."""
        return self.hook.get_offline_conversions_threshold(counter)

    def manifest_about(self, counter: int) -> dict[str, Any]:
        """Return the counter and the identifier type, for the archive's manifest."""
        return {"counter_id": counter, "kind": self.wait_kind, "client_id_type": self._client_id_type}

    def on_delivered(self, context: Context, uploadings: list[dict[str, Any]]) -> None:
        """Read each upload again, push Metrika's counts, fail when it dropped more rows than allowed.

        Read again, not taken from the answers: a retry's answers are those its journal kept.
        """
        from airflow_provider_metrika.waiting.kinds import wait_kind

        counter = int(self.counter_used or 0)
        ids = [str(u.get("id")) for u in uploadings]
        fresh = wait_kind(self.wait_kind).find(self.hook, counter, ids, None)
        self._judge_counts(context, [fresh.get(i, u) for i, u in zip(ids, uploadings, strict=True)])

    def _judge_counts(self, context: Context, uploadings: list[dict[str, Any]]) -> None:
        """Push rows sent, kept and linked; fail when Metrika dropped more rows than allowed."""
        from airflow_provider_metrika.operators._offline_checks import check_dropped, processing_figures

        figures = processing_figures(uploadings)
        context["ti"].xcom_push(key=PROCESSING_XCOM_KEY, value=figures)
        check_dropped(figures, self.max_dropped_fraction, int(self.counter_used or 0), self.log)

    def after_wait(
        self,
        context: Context,
        uploadings: list[dict[str, Any]],
        report: dict[str, Any],
        *,
        resumed: bool = False,
    ) -> list[dict[str, Any]]:
        """Push the processed figures; fail on dropped rows or on ``LINKAGE_FAILURE``."""
        from airflow_provider_metrika.operators._offline_checks import check_linkage, processing_figures

        self._judge_counts(context, uploadings)
        figures = processing_figures(uploadings)
        self.log.info(
            "Metrika processed %d upload(s): %s rows linked to visits",
            len(uploadings),
            figures["rows_linked"],
        )
        check_linkage(uploadings, int(self.counter_used or 0), self.log)
        return uploadings


class MetrikaOfflineConversionsUploadOperator(_OfflineDataUploadOperator):
    """
    Upload offline conversions (``Target``, ``DateTime``, one identifier, ``Price``, ``Currency``).

    Every row is checked before anything is sent (Metrika drops invalid rows silently); every
    ``Target`` must be a JavaScript-event goal of the counter. Each POST carries a unique comment,
    recorded before it goes, so a lost answer is resolved by finding that comment. Pushes
    ``conversions_report`` and ``processing`` (rows sent, kept, linked) and returns the uploadings.
    """

    report_xcom_key = "conversions_report"
    dataset_name = "offline_conversions"
    row_noun = "conversions"
    wait_kind = "offline_conversions"

    def check_before_sending(self, context: Context, counter: int, prepared: Any) -> dict[str, Any]:
        """Check the window, then that every ``Target`` is one of the counter's goals."""
        from airflow_provider_metrika.operators._offline_checks import check_targets

        report = super().check_before_sending(context, counter, prepared)
        if prepared.report.targets:
            check_targets(self.hook, counter, dict(prepared.report.targets), self.log)
        return report

    def endpoint(self, counter: int) -> OfflineDataEndpoint:
        """Return ``POST .../offline_conversions/upload`` of this counter and identifier type."""
        from airflow_provider_metrika.delivery.offline_conversions import CONVERSIONS, OfflineDataEndpoint

        return OfflineDataEndpoint(self.hook, counter, CONVERSIONS, self._client_id_type)


class MetrikaCallsUploadOperator(_OfflineDataUploadOperator):
    """
    Upload calls from call tracking (``DateTime``, one identifier, and the optional call columns).

    As :class:`MetrikaOfflineConversionsUploadOperator`, except: calls go to the counter's calls
    goal (``new_goal_name`` names it when the counter has none), a re-send is never blind (Metrika
    documents no de-duplication of calls), and ``LINKAGE_FAILURE`` of static calls only is not a
    failure. Pushes ``calls_report`` and ``processing``.

    :param new_goal_name: the name of the calls goal, used only when the counter has none yet.
    """

    report_xcom_key = "calls_report"
    dataset_name = "calls"
    row_noun = "calls"
    wait_kind = "calls"
    core_kind = "calls"
    noun = "calls"

    def __init__(self, *, new_goal_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.new_goal_name = new_goal_name

    @classmethod
    def client_id_types(cls) -> tuple[str, ...]:
        """Calls carry no ``PurchaseId``."""
        return CLIENT_ID_TYPES[:3]

    def window_opens(self, counter: int) -> Any:
        """Return the day the counter's window for calls opens."""
        return self.hook.get_calls_threshold(counter)

    def endpoint(self, counter: int) -> OfflineDataEndpoint:
        """Return ``POST .../offline_conversions/upload_calls`` of this counter."""
        from airflow_provider_metrika.delivery.offline_conversions import CALLS, OfflineDataEndpoint

        return OfflineDataEndpoint(self.hook, counter, CALLS, self._client_id_type, self.new_goal_name)
