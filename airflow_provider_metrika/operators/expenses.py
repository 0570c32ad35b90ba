"""Operator that replaces one provider's ad expenses in Metrika: delete its days, then upload, once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_metrika._compat import AirflowSkipException, conf
from airflow_provider_metrika.arguments import check_option, is_template, read_mapping
from airflow_provider_metrika.constants import DECIMALS, DEFAULT_CONN_ID, MAX_UPLOAD_BYTES
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.operators.upload import SHARED_TEMPLATE_FIELDS, MetrikaUploadOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_metrika.delivery.expenses import ExpensesEndpoint
    from airflow_provider_metrika.delivery.manifest import PlannedPart

#: What ``check_totals`` may be: fail or warn when Metrika's day totals fall short of what was sent.
CHECK_TOTALS = ("error", "warn")


@dataclass(frozen=True)
class _Replace:
    """The plan of one replace: the delete file first, then the upload parts; the report; the days."""

    parts: list[Any]
    report: Any
    extra: dict[str, Any]


class MetrikaExpensesUploadOperator(MetrikaUploadOperator):
    """
    Make Metrika hold exactly the input's expenses for ``provider`` on the days the input covers.

    A run deletes this provider's expenses on those days (or on every day of ``date_range``, so a
    day without spend is cleared too), waits until Metrika has processed the delete, uploads, and
    (``wait_for_processing``) waits until the upload is processed. Every request that can change data
    carries ``provider``, so another provider's or another team's expenses are never touched. Each
    POST carries a unique comment, recorded before it goes; a lost answer is resolved by it. Running
    the same DAG run again, retrying after any failure, or Clearing leaves the same numbers.

    Rows are checked before anything is sent (``Date``, ``UTMSource`` or ``TrafficSource`` with its
    detail, ``Expenses``, ``Currency``, ``Clicks``); rows for Yandex Direct are refused (Metrika
    imports those itself, and they cannot be deleted). UTM values are sent exactly as given.

    :param provider: the pipeline that owns these expenses, e.g. ``vk_ads_dwh`` (templated; required).
    :param counter_id: the Metrika counter (templated); None uses the connection's default.
    :param dataframe: a pandas DataFrame, or an upstream task's XCom of one.
    :param path: a CSV file as a local path or an object-storage URI (templated).
    :param sql: a SELECT (templated), run on ``sql_conn_id`` and fetched in batches.
    :param sql_conn_id: a database connection whose hook is a common.sql ``DbApiHook``.
    :param sql_parameters: parameters of ``sql`` (templated).
    :param sql_batch_rows: rows fetched per batch.
    :param metrika_conn_id: the Metrika connection.
    :param date_range: ``(first, last)`` days, both included, or ``"YYYY-MM-DD/YYYY-MM-DD"``
        (templated): the days replaced; every row must fall inside. None: the days the input covers.
    :param columns: renames of input columns to Metrika's, e.g. ``{"spend": "Expenses"}`` (templated).
    :param decimal: ``"."`` or ``","`` for ``Expenses`` text; None: ``"."``, or either in a ``;`` file.
    :param max_part_bytes: the largest part file.
    :param wait_for_processing: wait until Metrika has processed the upload (the delete is always
        waited for, in the worker, before the upload goes).
    :param deferrable: wait for the upload in the triggerer.
    :param poll_interval: seconds between two looks at an upload's status.
    :param timeout: seconds to wait for each processing before failing.
    :param check_totals: after processing, read the days' expense totals back through the Reports API
        and compare them with what was sent: ``error`` fails, ``warn`` warns when a day's total falls
        short; None (default) skips the check.
    :param force_resend: send again, once, a part whose send by an earlier try is unresolved.
    :param archive_path: where the exact parts sent are kept, with a ``manifest.json`` (templated).
    """

    template_fields: Sequence[str] = (*SHARED_TEMPLATE_FIELDS, "provider", "date_range", "columns")
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "columns": "json"}
    template_ext: Sequence[str] = (".sql",)
    ui_color = "#ffcc00"
    report_xcom_key = "expenses_report"
    dataset_name = "expenses"
    row_noun = "expense rows"
    wait_kind = "expenses"
    replans_each_try = True

    def __init__(
        self,
        *,
        provider: str,
        counter_id: int | str | None = None,
        dataframe: Any = None,
        path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        sql_parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        sql_batch_rows: int = 50_000,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        date_range: Sequence[Any] | str | None = None,
        columns: Mapping[str, str] | str | None = None,
        decimal: str | None = None,
        max_part_bytes: int = MAX_UPLOAD_BYTES,
        wait_for_processing: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = 2 * 3600.0,
        check_totals: str | None = None,
        force_resend: bool | str = False,
        archive_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Two tries of one replace at once could interleave deletes and uploads: one at a time.
        kwargs.setdefault("max_active_tis_per_dag", 1)
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
        from airflow_provider_metrika.hooks.expenses import check_provider

        if not is_template(provider):
            check_provider(provider)
        if not _is_deferred(date_range):
            _read_date_range(date_range)
        if not is_template(columns):
            read_mapping("columns", columns, "input column to Metrika column")
        if decimal is not None and decimal not in DECIMALS:
            raise MetrikaInvalidArgumentError(f"decimal must be '.', ',' or None; got {decimal!r}")
        if check_totals is not None:
            check_option("check_totals", check_totals, CHECK_TOTALS)
        if check_totals is not None and not wait_for_processing:
            raise MetrikaInvalidArgumentError(
                f"{self.task_id}: check_totals reads Metrika's totals after processing: it needs "
                "wait_for_processing=True"
            )
        self.provider = provider
        self.date_range = date_range
        self.columns = columns
        self.decimal = decimal
        self.wait_for_processing = wait_for_processing
        self.check_totals = check_totals
        self._provider = ""
        self._deletes: frozenset[int] = frozenset()
        self._attempt = ""

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Replace the days; an upload left unresolved ends the try, and the next one settles it."""
        from airflow_provider_metrika.exceptions import (
            MetrikaReplaceUnsettledError,
            MetrikaUploadUncertainError,
        )

        try:
            return super().execute(context)
        except MetrikaUploadUncertainError as exc:
            what = str(exc).split(" It was not sent again")[0]
            raise MetrikaReplaceUnsettledError(
                f"{what}. The next try (a retry, or a Clear) looks for it again by its comment, waits "
                "until Metrika has processed it if it was stored, then deletes the days and uploads "
                "again: nothing is added twice."
            ) from None

    def read_options(self, counter: int) -> None:
        """Check the rendered provider once per try."""
        from airflow_provider_metrika.hooks.expenses import check_provider

        self._provider = check_provider(self.provider)

    def prepare(self, context: Context, workdir: Path, counter: int, state: Any) -> _Replace:
        """Check every row with the expenses core; plan the delete of the days, then the upload."""
        from airflow_provider_metrika.delivery.task_journal import TaskUploadJournal
        from airflow_provider_metrika.expenses import EmptyExpensesError, delete_file, prepare_expenses
        from airflow_provider_metrika.operators._expense_tries import DAYS, settle_earlier_tries
        from airflow_provider_metrika.operators._inputs import task_input
        from airflow_provider_metrika.progress import ProgressLog

        journal = TaskUploadJournal(context)
        self._attempt = journal.attempt
        # Whatever earlier tries sent is processed before this try replaces the days again.
        cleared = settle_earlier_tries(
            self.hook, counter, journal, timeout=self.timeout, poll_interval=self.poll_interval, log=self.log
        )
        days = _read_date_range(self.date_range)
        source = {"dataframe": self.dataframe, "path": self.path, "sql": self.sql, "noun": "expenses"}
        source |= {"sql_conn_id": self.sql_conn_id, "sql_parameters": self.sql_parameters}
        source |= {"sql_batch_rows": self.sql_batch_rows, "log": self.log}
        try:
            with (
                ProgressLog(self.log, "checked", unit="rows") as progress,
                task_input(context, **source) as data,
            ):
                prepared = prepare_expenses(
                    data,
                    workdir,
                    columns=read_mapping("columns", self.columns, "input column to Metrika column"),
                    decimal=self.decimal,
                    max_part_bytes=self.max_part_bytes,
                    date_range=days,
                    progress=progress,
                )
        except EmptyExpensesError as exc:
            if days is None:
                raise AirflowSkipException(f"No expenses to upload: {exc}") from None
            # Nothing spent in the range: the replace clears the range's days.
            from airflow_provider_metrika.expenses import ExpensesReport

            report = ExpensesReport(dates=_days_of(days))
            self._deletes = frozenset({1})
            clear = sorted({*report.dates, *cleared})
            return _Replace([delete_file(clear, workdir)], report, {DAYS: clear})
        report = prepared.report
        self.log.info(
            "Expenses of provider %r for counter %s:\n%s\n", self._provider, counter, report.as_text()
        )
        for warning in report.warnings:
            self.log.warning("%s", warning.describe())
        if prepared.delete_part is None and not cleared:
            raise AirflowSkipException("No expenses to upload and no days to clear")
        self._deletes = frozenset({1})
        # The days an earlier try cleared are cleared again: its upload may have landed on them.
        clear = sorted({*report.dates, *cleared})
        if set(clear) != set(report.dates):
            self.log.warning(
                "An earlier try replaced other days too (%s): they are cleared again",
                sorted(set(cleared) - set(report.dates)),
            )
        delete = delete_file(clear, workdir) if clear != sorted(report.dates) else prepared.delete_part
        return _Replace([delete, *prepared.parts], report, {DAYS: clear})

    def check_before_sending(self, context: Context, counter: int, prepared: Any) -> dict[str, Any]:
        """Push the report (counts, days, totals; no customer data)."""
        report: dict[str, Any] = prepared.report.to_dict()
        context["ti"].xcom_push(key=self.report_xcom_key, value=report)
        return report

    def endpoint(self, counter: int) -> ExpensesEndpoint:
        """Return the delete and upload calls of this counter and provider."""
        from airflow_provider_metrika.delivery.expenses import ExpensesEndpoint

        return ExpensesEndpoint(self.hook, counter, self._provider, self._deletes, self._attempt)

    def manifest_about(self, counter: int) -> dict[str, Any]:
        """Return the counter and the provider, for the archive's manifest."""
        return {"counter_id": counter, "provider": self._provider}

    def after_part(self, counter: int) -> Callable[[PlannedPart, dict[str, Any]], Any] | None:
        """Wait, in the worker, until Metrika has processed the delete before the upload goes."""
        from airflow_provider_metrika.waiting.kinds import wait_kind
        from airflow_provider_metrika.waiting.poll import wait_for_validation
        from airflow_provider_metrika.waiting.uploadings import UploadingsWait

        kind = wait_kind(self.wait_kind)

        def wait_for_the_delete(part: PlannedPart, uploading: dict[str, Any]) -> None:
            if part.position not in self._deletes:
                return
            self.log.info(
                "Waiting until Metrika has processed delete %s before uploading", uploading.get("id")
            )
            wait = UploadingsWait(counter, [str(uploading.get("id"))], reader=kind.reader)
            wait_for_validation(
                wait,
                lambda ids, since: kind.find(self.hook, counter, ids, since),
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                log=self.log,
            )

        return wait_for_the_delete

    def after_wait(
        self,
        context: Context,
        uploadings: list[dict[str, Any]],
        report: dict[str, Any],
        *,
        resumed: bool = False,
    ) -> list[dict[str, Any]]:
        """Log the processing; read the day totals back when ``check_totals`` asks."""
        self.log.info(
            "Metrika processed %d upload(s) of provider %r", len(uploadings), self._provider or self.provider
        )
        if self.check_totals:
            from airflow_provider_metrika.operators._expense_totals import check_expense_totals

            counter = int(self.counter_used or 0)
            check_expense_totals(self.hook, counter, report, self.check_totals, self.log)
        return uploadings


def _is_deferred(value: Any) -> bool:
    """Tell whether a value is known only when the task runs (a template, or an upstream's output)."""
    from airflow_provider_metrika._compat import XComArg

    if isinstance(value, XComArg) or is_template(value):
        return True
    return isinstance(value, list | tuple) and any(_is_deferred(item) for item in value)


def _read_date_range(value: Any) -> tuple[str, str] | None:
    """Return ``date_range`` as two ``YYYY-MM-DD`` texts (a ``"first/last"`` text is split)."""
    from airflow_provider_metrika.expenses import check_date_range

    if value is None or value == "":
        return None
    pair = value.split("/") if isinstance(value, str) else value
    try:
        bounds = check_date_range(tuple(pair) if isinstance(pair, list | tuple) else pair)
    except ValueError as exc:
        raise MetrikaInvalidArgumentError(f"date_range: {exc}") from None
    assert bounds is not None
    from datetime import date

    return date.fromordinal(bounds[0]).isoformat(), date.fromordinal(bounds[1]).isoformat()


def _days_of(days: tuple[str, str]) -> list[str]:
    """Return every day of a range, both ends included."""
    from datetime import date, timedelta

    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[1])
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
