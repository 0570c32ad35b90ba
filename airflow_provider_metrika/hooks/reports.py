"""Read linked CRM orders back from Metrika's Reports API (``GET /stat/v1/data``).

The request is one table of the ``ym:s:cdpOrders*`` metrics by day (``dimensions=ym:s:date``,
``accuracy=full``), paged with ``limit`` / ``offset`` (1-based) while ``total_rows`` says more rows
follow. It needs ``metrika:read``. Metric values may be ``null`` (read as 0) or floats (rounded).
Whether Metrika dates a linked order by its visit or by the order's creation is not documented
(*unconfirmed*): this module reports the days as Metrika gives them and leaves the reading to the
caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from airflow_provider_metrika.constants import (
    DATE_DIMENSION,
    LINKED_ALL_ORDERS,
    LINKED_CANCELLED,
    LINKED_IN_PROGRESS,
    LINKED_ORDER_METRICS,
    LINKED_OTHER,
    LINKED_PAID,
    LINKED_SPAM,
    MAX_REPORT_PAGE_ROWS,
    REPORT_PAGE_ROWS,
)
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaError,
    MetrikaInvalidArgumentError,
)
from airflow_provider_metrika.hooks.access import REPORTS_CALL, access_denied_advice

#: The most pages one read makes: a guard against an answer whose ``total_rows`` never ends.
MAX_REPORT_PAGES = 100
#: Metric name -> the field of :class:`LinkedCounts` holding it.
_METRIC_FIELDS: dict[str, str] = {
    LINKED_ALL_ORDERS: "orders",
    LINKED_IN_PROGRESS: "in_progress",
    LINKED_PAID: "paid",
    LINKED_CANCELLED: "cancelled",
    LINKED_SPAM: "spam",
    LINKED_OTHER: "other",
}


@dataclass(frozen=True)
class LinkedCounts:
    """
    Linked CRM orders of one day (or of a window), per status.

    :param orders: every linked order except spam (``ym:s:cdpOrdersAllOrders``).
    :param in_progress: linked orders ``IN_PROGRESS``.
    :param paid: linked orders ``PAID`` (Metrika's ``Payed``).
    :param cancelled: linked orders ``CANCELLED``.
    :param spam: linked orders ``SPAM``, apart from ``orders``.
    :param other: linked orders whose status is a JavaScript goal.
    """

    orders: int = 0
    in_progress: int = 0
    paid: int = 0
    cancelled: int = 0
    spam: int = 0
    other: int = 0

    def __add__(self, other: LinkedCounts) -> LinkedCounts:
        return LinkedCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, int]:
        """Return the counts as a JSON-serialisable dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class LinkedOrders:
    """
    What the Reports API says about linked CRM orders of a counter over a window of days.

    :param counter_id: the counter.
    :param date1: the window's first day (``YYYY-MM-DD``).
    :param date2: its last day.
    :param days: day -> its counts; days Metrika left out have none (read them with :meth:`day`).
    :param totals: Metrika's totals over the whole window.
    :param sampled: Metrika answered from a sample (then counts are estimates).
    :param sample_share: the share of visits the answer was computed from.
    :param data_lag: seconds by which Metrika's data lags, as it says; None when absent.
    """

    counter_id: int
    date1: str
    date2: str
    days: dict[str, LinkedCounts] = field(default_factory=dict)
    totals: LinkedCounts = field(default_factory=LinkedCounts)
    sampled: bool = False
    sample_share: float = 1.0
    data_lag: float | None = None

    def day(self, date: str) -> LinkedCounts:
        """Return a day's counts; zeros for a day Metrika did not list."""
        return self.days.get(date, LinkedCounts())


def report_date(value: Any, parameter: str) -> str:
    """
    Return a day as the Reports API's ``YYYY-MM-DD``, or raise a clear error.

    :param value: a date, a datetime (its date) or ``YYYY-MM-DD`` text.
    :param parameter: the argument's name, for the message.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise MetrikaInvalidArgumentError(f"{parameter} must be a date or 'YYYY-MM-DD' text; got {value!r}")


def _count(value: Any, metric: str, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetrikaError(f"Reports API answer: {metric} of {where} is {value!r}, not a number")
    return round(value)


def _counts(values: Any, metrics: list[str], where: str) -> LinkedCounts:
    if not isinstance(values, list) or len(values) != len(metrics):
        raise MetrikaError(
            f"Reports API answer: the metrics of {where} are {str(values)[:100]}, not {len(metrics)} values"
        )
    found = {_METRIC_FIELDS[m]: _count(v, m, where) for m, v in zip(metrics, values, strict=True)}
    return LinkedCounts(**found)


class LinkedOrdersQuery:
    """
    Build the pages of one linked-orders read and parse their answers.

    Drive it with :meth:`fetch` (sync) or :meth:`afetch` (async), giving the hook's GET.

    :param counter_id: the counter (checked by the caller).
    :param date1: the first day (date or ``YYYY-MM-DD``).
    :param date2: the last day.
    :param page_size: rows asked per page (1 to 100,000).
    """

    def __init__(self, counter_id: int, date1: Any, date2: Any, *, page_size: int = REPORT_PAGE_ROWS) -> None:
        self.counter_id = counter_id
        self.date1 = report_date(date1, "date1")
        self.date2 = report_date(date2, "date2")
        if self.date1 > self.date2:
            raise MetrikaInvalidArgumentError(f"date1 {self.date1} is after date2 {self.date2}")
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise MetrikaInvalidArgumentError(f"page_size must be an integer; got {page_size!r}")
        if not 1 <= page_size <= MAX_REPORT_PAGE_ROWS:
            raise MetrikaInvalidArgumentError(
                f"page_size must be from 1 to {MAX_REPORT_PAGE_ROWS}; got {page_size}"
            )
        self.page_size = page_size
        self._offset = 1
        self._pages = 0
        self._total_rows: int | None = None
        self._days: dict[str, LinkedCounts] = {}
        self._answer: Mapping[str, Any] = {}
        self._totals = LinkedCounts()

    def next_params(self) -> dict[str, Any] | None:
        """Return the query of the next page, or None when every row is read."""
        if self._total_rows is not None and self._offset > self._total_rows:
            return None
        if self._pages >= MAX_REPORT_PAGES:
            raise MetrikaError(
                f"Reports API: {self._total_rows} rows announced for counter {self.counter_id}, "
                f"{self._offset - 1} read in {self._pages} pages; stopped"
            )
        return {
            "ids": str(self.counter_id),
            "metrics": ",".join(LINKED_ORDER_METRICS),
            "dimensions": DATE_DIMENSION,
            "date1": self.date1,
            "date2": self.date2,
            "accuracy": "full",
            "limit": self.page_size,
            "offset": self._offset,
        }

    def feed(self, answer: Any) -> None:
        """
        Read one page's answer.

        :param answer: the JSON answer of :meth:`next_params`' query.
        """
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise MetrikaError(f"Reports API answer has no 'data' list: {str(answer)[:200]}")
        asked = answer.get("query", {}).get("metrics") if isinstance(answer.get("query"), dict) else None
        metrics = list(asked) if isinstance(asked, list) and set(asked) == set(_METRIC_FIELDS) else None
        metrics = metrics or list(LINKED_ORDER_METRICS)
        rows = answer["data"]
        for row in rows:
            dimensions = row.get("dimensions") if isinstance(row, dict) else None
            if not isinstance(dimensions, list) or not dimensions or not isinstance(dimensions[0], dict):
                raise MetrikaError(f"Reports API answer: a row has no dimensions: {str(row)[:200]}")
            day = str(dimensions[0].get("name"))
            self._days[day] = self._days.get(day, LinkedCounts()) + _counts(row.get("metrics"), metrics, day)
        if self._pages == 0:
            self._answer = answer
            totals = answer.get("totals")
            self._totals = _counts(totals, metrics, "the totals") if totals is not None else LinkedCounts()
        self._pages += 1
        total = answer.get("total_rows")
        self._total_rows = total if isinstance(total, int) and not isinstance(total, bool) else len(rows)
        self._offset += len(rows)
        if not rows:  # nothing more will come, whatever total_rows says
            self._total_rows = self._offset - 1

    def result(self) -> LinkedOrders:
        """Return what the pages read say."""
        lag = self._answer.get("data_lag")
        share = self._answer.get("sample_share")
        return LinkedOrders(
            counter_id=self.counter_id,
            date1=self.date1,
            date2=self.date2,
            days=dict(sorted(self._days.items())),
            totals=self._totals,
            sampled=bool(self._answer.get("sampled", False)),
            sample_share=float(share) if isinstance(share, int | float) else 1.0,
            data_lag=float(lag) if isinstance(lag, int | float) else None,
        )

    def _denied(self, exc: MetrikaAccessDeniedError, conn_id: str) -> MetrikaAccessDeniedError:
        who = f"connection {conn_id!r}"
        advice = access_denied_advice(REPORTS_CALL, str(self.counter_id), who, exc.error_type)
        return exc.with_advice(advice)  # type: ignore[return-value]

    def fetch(self, get: Callable[[dict[str, Any]], Any], conn_id: str) -> LinkedOrders:
        """
        Read every page with ``get`` and return the result; a 403 names ``metrika:read``.

        :param get: the hook's GET of the Reports endpoint, given the query.
        :param conn_id: the connection, for messages.
        """
        try:
            while (params := self.next_params()) is not None:
                self.feed(get(params))
        except MetrikaAccessDeniedError as exc:
            raise self._denied(exc, conn_id) from None
        return self.result()

    async def afetch(self, get: Callable[[dict[str, Any]], Awaitable[Any]], conn_id: str) -> LinkedOrders:
        """Asynchronous twin of :meth:`fetch`."""
        try:
            while (params := self.next_params()) is not None:
                self.feed(await get(params))
        except MetrikaAccessDeniedError as exc:
            raise self._denied(exc, conn_id) from None
        return self.result()
