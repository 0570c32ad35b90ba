"""Operator that checks, after an upload, how many of its orders Metrika linked to visits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import BaseOperator, conf
from airflow_provider_metrika.arguments import (
    check_counter_id,
    check_option,
    check_seconds,
    is_template,
    read_number,
)
from airflow_provider_metrika.constants import DEFAULT_CONN_ID
from airflow_provider_metrika.exceptions import MetrikaError, MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.links import COUNTER_ID_XCOM_KEY, MetrikaCounterLink
from airflow_provider_metrika.operators._linkage_report import (
    Linkage,
    denominator_note,
    expected_by_day,
    low_share_message,
    over_count_message,
    reading_notes,
    wrapped,
)
from airflow_provider_metrika.operators.simple_orders import REPORT_XCOM_KEY
from airflow_provider_metrika.triggers.settle import EVENT_SETTLED, MetrikaSettleTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Metrika shows uploaded data in reports within about two hours.
DEFAULT_SETTLE_SECONDS = 7200
ON_LOW = ("fail", "warn")
#: Seconds past the settle moment after which the scheduler fails a deferral no triggerer ran.
DEFERRAL_GRACE = 600.0


class MetrikaLinkageError(MetrikaError):
    """The linked share is below ``min_linked_share`` (with ``on_low="fail"``)."""


def _settle_seconds(value: Any) -> float:
    return float(check_seconds("settle_seconds", value, zero=True, text=True) or 0.0)


def _threshold(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return read_number("min_linked_share", value, low=0.0, high=1.0, text=True)


def _uploaded_at(uploadings: Any) -> datetime | None:
    """Return the latest ``datetime`` of the upload's uploadings (when Metrika stored the last part)."""
    moments = []
    for uploading in uploadings if isinstance(uploadings, list) else []:
        text = uploading.get("datetime") if isinstance(uploading, dict) else None
        try:
            moment = datetime.fromisoformat(str(text).replace(" ", "T"))
        except ValueError:
            continue
        moments.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return max(moments, default=None)


class MetrikaLinkageCheckOperator(BaseOperator):
    """
    Check, after an upload, how many of its orders Metrika tied to visits (``metrika:read``).

    ``PASSED`` only says the file was well formed. Placed after a
    :class:`~airflow_provider_metrika.operators.simple_orders.SimpleOrdersUploadOperator`, this reads
    that task's ``orders_report`` (the orders per creation date and status), waits until Metrika's
    reports can hold them (``settle_seconds`` after Metrika stored the last part, by the uploadings'
    ``datetime``; in the triggerer when deferrable, never holding a worker slot), reads the
    linked orders of those dates from the Reports API, logs a table per day and per status, and
    returns ``{"sent", "linked", "share", "by_day": [{"date", "sent", "linked", ...}], "spam", ...}``.

    Spam orders are counted apart, never as "not linked". The denominator is what Metrika should
    hold for each date: with ``changed_only`` the orders sent plus those unchanged since earlier
    runs. A day with more linked orders than that is a bug signal: it is reported and left out of
    the share. Re-running the check alone (Clear) reads the same report and waits no more.

    :param upload_task_id: the upload task of this DAG run (same map index when both are mapped).
    :param settle_seconds: seconds to wait after the upload before reading (templated; default 7200).
    :param min_linked_share: the lowest acceptable share, 0 to 1 (templated); None checks nothing.
    :param on_low: ``fail`` (default) or ``warn`` when the share is below ``min_linked_share``.
    :param counter_id: the counter to read (templated); default: the one the upload used.
    :param metrika_conn_id: the Metrika connection (its token needs ``metrika:read``).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("settle_seconds", "min_linked_share", "counter_id")
    ui_color = "#ffe680"
    operator_extra_links = (MetrikaCounterLink(),)

    def __init__(
        self,
        *,
        upload_task_id: str,
        settle_seconds: float | str = DEFAULT_SETTLE_SECONDS,
        min_linked_share: float | str | None = None,
        on_low: str = "fail",
        counter_id: int | str | None = None,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(upload_task_id, str) or not upload_task_id.strip():
            raise MetrikaInvalidArgumentError(
                f"upload_task_id must be the task_id of the upload task; got {upload_task_id!r}"
            )
        if not is_template(settle_seconds):
            _settle_seconds(settle_seconds)
        if not is_template(min_linked_share):
            _threshold(min_linked_share)
        if counter_id is not None and not is_template(counter_id):
            check_counter_id(counter_id)
        self.upload_task_id = upload_task_id
        self.settle_seconds = settle_seconds
        self.min_linked_share = min_linked_share
        self.on_low = check_option("on_low", on_low, ON_LOW)
        self.counter_id = counter_id
        self.metrika_conn_id = metrika_conn_id
        self.deferrable = deferrable
        #: The counter this try checks, once known (read by the counter link).
        self.counter_used: int | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the upload's report, wait until the reports settled (deferring when asked), compare."""
        report, uploadings, counter = self._upload(context)
        self.counter_used = counter
        context["ti"].xcom_push(key=COUNTER_ID_XCOM_KEY, value=counter)
        if not (report.get("orders_held_by_date") or report.get("orders_by_date")):
            self.log.info("Task %s sent no orders: nothing to check", self.upload_task_id)
            threshold = _threshold(self.min_linked_share)
            empty = {"date1": None, "date2": None, "min_linked_share": threshold, "below_threshold": False}
            return {**Linkage(counter).to_dict(), **empty}
        moment = self._settle_moment(uploadings)
        remaining = moment - time.time()
        if remaining > 0:
            when = datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
            if self.deferrable:
                self.log.info("Waiting in the triggerer until %s for Metrika's reports to settle", when)
                self.defer(
                    trigger=MetrikaSettleTrigger(moment=moment),
                    method_name="execute_complete",
                    timeout=timedelta(seconds=remaining + DEFERRAL_GRACE),
                )
            self.log.info("Waiting %.0f s (until %s) for Metrika's reports to settle", remaining, when)
            time.sleep(remaining)
        return self._check(report, counter)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Compare once the trigger says the reports have settled."""
        if not isinstance(event, dict) or event.get("status") != EVENT_SETTLED:
            raise MetrikaError(f"the wait for Metrika's reports ended unexpectedly: {event!r}")
        report, _, counter = self._upload(context)
        self.counter_used = counter
        return self._check(report, counter)

    def _upload(self, context: Context) -> tuple[dict[str, Any], Any, int]:
        """Return the upload task's report, uploadings and counter, from its XComs in this run."""
        ti = context["ti"]
        mapped = ti.map_index is not None and ti.map_index >= 0
        where: dict[str, Any] = {"map_indexes": ti.map_index} if mapped else {}
        report = ti.xcom_pull(task_ids=self.upload_task_id, key=REPORT_XCOM_KEY, **where)
        if isinstance(report, list):
            raise MetrikaInvalidArgumentError(
                f"upload task {self.upload_task_id!r} is mapped: map this check the same way (one "
                "check per upload, e.g. .partial(...).expand(...) over the same values) so that each "
                "reads its own upload"
            )
        if not isinstance(report, dict) or "orders_by_date" not in report:
            raise MetrikaInvalidArgumentError(
                f"task {self.upload_task_id!r} pushed no orders_report with orders per date in this DAG run: "
                "upload_task_id must name a SimpleOrdersUploadOperator upstream of this check (set "
                "upload >> check) that ran in this run"
            )
        uploadings = ti.xcom_pull(task_ids=self.upload_task_id, **where)
        used = ti.xcom_pull(task_ids=self.upload_task_id, key=COUNTER_ID_XCOM_KEY, **where)
        if self.counter_id is not None:
            counter = check_counter_id(self.counter_id)
        elif used is not None:
            counter = check_counter_id(used, f"counter_id pushed by {self.upload_task_id!r}")
        else:
            counter = MetrikaHook(self.metrika_conn_id).resolve_counter_id(None)
        return report, uploadings, counter

    def _settle_moment(self, uploadings: Any) -> float:
        settle = _settle_seconds(self.settle_seconds)
        if isinstance(uploadings, list) and not uploadings:
            # changed_only with nothing new: what Metrika holds was sent by earlier runs.
            self.log.info("Task %s sent no part: nothing to wait for", self.upload_task_id)
            return time.time()
        uploaded = _uploaded_at(uploadings)
        if uploaded is None:
            self.log.warning(
                "Task %s returned no uploading with a datetime: counting settle_seconds from now",
                self.upload_task_id,
            )
            return time.time() + settle
        return min(uploaded.timestamp(), time.time()) + settle

    def _check(self, report: dict[str, Any], counter: int) -> dict[str, Any]:
        """Read the linked orders of the upload's dates, log the table, apply the threshold."""
        threshold = _threshold(self.min_linked_share)
        held = bool(report.get("changed_only")) and "orders_held_by_date" in report
        expected = expected_by_day(report["orders_held_by_date"] if held else report["orders_by_date"])
        date1, date2 = min(expected), max(expected)
        linked = MetrikaHook(self.metrika_conn_id).get_linked_orders(counter, date1, date2)
        linkage = Linkage.compare(expected, linked, held=held)
        self.log.info(
            "Linked CRM orders on counter %s, per creation date (sent/linked per status):\n%s\n%s\n%s\n",
            counter,
            linkage.table(),
            wrapped(denominator_note(report, held)),
            wrapped(reading_notes(linkage, date1, date2)),
        )
        result = {**linkage.to_dict(), "date1": date1, "date2": date2, "min_linked_share": threshold}
        if linkage.over_counted:
            self.log.warning("%s", over_count_message(linkage))
        result["below_threshold"] = False
        if threshold is None:
            return result
        share = linkage.share
        if share is None and not linkage.over_counted:
            self.log.info("No orders besides spam: there is no linked share to check")
            return result
        if share is None:
            message = (
                f"No day of this upload can be compared (see above), so the linked share cannot be "
                f"checked against min_linked_share {threshold:.1%}"
            )
        elif share < threshold:
            message = low_share_message(share, threshold, counter, report, linkage)
        else:
            self.log.info("Linked share %.1f%% meets min_linked_share %.1f%%", share * 100, threshold * 100)
            return result
        result["below_threshold"] = True
        if self.on_low == "fail":
            raise MetrikaLinkageError(message)
        self.log.warning("%s", message)
        return result
