"""The emulator's model of how Metrika links CRM orders to visits: every rule in this one module.

This is the emulator's model, not Metrika's guarantee. Metrika documents that an order is tied to a
visit of the same customer within the 21 days before the order, by ClientID, email or phone (raw or
MD5), and that it usually holds fewer orders than the CRM. It does not document the matching itself,
so the rules below are chosen to be simple and predictable for tests:

- a *visit* is seeded by a test: a time (the counter's wall clock, like ``create_date_time``) and
  any of a ClientID, an email and a phone;
- an order *links* when one of its identifiers matches a visit whose time is within the 21 days
  before the order's creation (``create - 21 days <= visit <= create``; a date without time means
  23:59): ``client_ids`` the visit's ClientID; ``emails`` its email (trimmed, lowercase);
  ``phones`` its phone (digits only); ``emails_md5`` / ``phones_md5`` the MD5 of its email / phone;
- a linked order is counted on its **creation date** (Metrika does not say whether it uses the
  order's date or the visit's: the emulator picks the order's, and the linkage check is written
  to give sensible numbers under both);
- its status counts as ``ym:s:cdpOrdersPayed`` (``PAID`` or empty), ``...InProgress``,
  ``...Cancelled``, ``...Spam`` or ``...Other`` (a goal identifier); ``ym:s:cdpOrdersAllOrders``
  is every linked order except spam;
- not modelled: the rule that an order links only while it is within 21 days of its upload,
  Metrika's data lag (the answer is immediate, ``data_lag`` 0) and sampling (never sampled).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from airflow_provider_metrika.emulator.validation import parse_create_date_time, split_values

#: Visits this far before an order's creation may be tied to it.
LINK_WINDOW = timedelta(days=21)

ALL_ORDERS = "ym:s:cdpOrdersAllOrders"
IN_PROGRESS = "ym:s:cdpOrdersInProgress"
PAID = "ym:s:cdpOrdersPayed"
CANCELLED = "ym:s:cdpOrdersCancelled"
SPAM = "ym:s:cdpOrdersSpam"
OTHER = "ym:s:cdpOrdersOther"
#: Metrics of linked orders the emulator answers, in Metrika's names.
LINKED_METRICS = (ALL_ORDERS, IN_PROGRESS, PAID, CANCELLED, SPAM, OTHER)
_STATUS_METRICS = {"": PAID, "PAID": PAID, "IN_PROGRESS": IN_PROGRESS, "CANCELLED": CANCELLED, "SPAM": SPAM}
_VISIT_KEYS = frozenset({"client_id", "email", "phone", "time"})
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # Metrika's matching hash, not a security one


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@dataclass(frozen=True)
class Visit:
    """One seeded visit.

    :param time: when it started, the counter's wall clock.
    :param client_id: the visitor's Metrika ClientID, if known.
    :param email: the email the visitor gave, normalised.
    :param phone: the phone the visitor gave, digits only.
    """

    time: datetime
    client_id: str = ""
    email: str = ""
    phone: str = ""

    def identifiers(self) -> list[tuple[str, str]]:
        """Return the identifiers an order can match this visit by."""
        found = []
        if self.client_id:
            found.append(("client_id", self.client_id))
        if self.email:
            found += [("email", self.email), ("md5", _md5(self.email))]
        if self.phone:
            found += [("phone", self.phone), ("md5", _md5(self.phone))]
        return found

    def to_json(self) -> dict[str, str]:
        """Render the visit for the control API."""
        return {
            "time": self.time.strftime("%Y-%m-%d %H:%M:%S"),
            "client_id": self.client_id,
            "email": self.email,
            "phone": self.phone,
        }


def parse_visit(item: object) -> Visit:
    """Read ``{"time": "YYYY-MM-DD HH:MM[:SS]", "client_id": ..., "email": ..., "phone": ...}``.

    :param item: one visit as JSON.
    :raises ValueError: naming the problem.
    """
    if not isinstance(item, Mapping):
        raise ValueError(f"a visit must be an object, got {item!r}")
    unknown = sorted(set(map(str, item)) - _VISIT_KEYS)
    if unknown:
        raise ValueError(f"unknown visit keys {', '.join(unknown)}; known: {', '.join(sorted(_VISIT_KEYS))}")
    text = str(item.get("time") or "")
    moment = next((parsed for f in _TIME_FORMATS if (parsed := _strptime(text, f)) is not None), None)
    if moment is None:
        raise ValueError(f"visit time {text!r} is not 'YYYY-MM-DD HH:MM[:SS]' (the counter's wall clock)")
    visit = Visit(
        time=moment,
        client_id=str(item.get("client_id") or "").strip(),
        email=str(item.get("email") or "").strip().lower(),
        phone=_digits(str(item.get("phone") or "")),
    )
    if not visit.identifiers():
        raise ValueError("a visit needs at least one of client_id, email and phone")
    return visit


def _strptime(text: str, pattern: str) -> datetime | None:
    try:
        return datetime.strptime(text, pattern)
    except ValueError:
        return None


def _order_keys(order: Mapping[str, str]) -> set[tuple[str, str]]:
    keys = {("client_id", value) for value in split_values(order.get("client_ids", ""))}
    keys |= {("email", value.strip().lower()) for value in split_values(order.get("emails", ""))}
    keys |= {("phone", _digits(value)) for value in split_values(order.get("phones", ""))}
    for column in ("emails_md5", "phones_md5"):
        keys |= {("md5", value.lower()) for value in split_values(order.get(column, ""))}
    return keys


class VisitIndex:
    """The visits of one counter, by identifier.

    :param visits: the seeded visits.
    """

    def __init__(self, visits: Iterable[Visit]) -> None:
        self._times: dict[tuple[str, str], list[datetime]] = {}
        for visit in visits:
            for key in visit.identifiers():
                self._times.setdefault(key, []).append(visit.time)

    def links(self, order: Mapping[str, str]) -> bool:
        """Tell whether the order links to a visit (see the module's rules).

        :param order: the stored order's columns.
        """
        created = parse_create_date_time(order.get("create_date_time", ""))
        if created is None:
            return False
        earliest = created - LINK_WINDOW
        return any(
            earliest <= moment <= created for key in _order_keys(order) for moment in self._times.get(key, ())
        )


def status_metric(status: str) -> str:
    """Return the metric a linked order of this status counts in (besides ``AllOrders``).

    :param status: the stored ``order_status``.
    """
    return _STATUS_METRICS.get(status.strip().upper(), OTHER)


def linked_by_day(orders: Iterable[Mapping[str, str]], visits: Iterable[Visit]) -> dict[date, Counter[str]]:
    """Count linked orders per creation date and metric.

    :param orders: every stored order of the counter (with and without id).
    :param visits: the counter's seeded visits.
    """
    index = VisitIndex(visits)
    days: dict[date, Counter[str]] = {}
    for order in orders:
        if not index.links(order):
            continue
        created = parse_create_date_time(order.get("create_date_time", ""))
        assert created is not None  # links() read it
        metric = status_metric(order.get("order_status", ""))
        counts = days.setdefault(created.date(), Counter())
        counts[metric] += 1
        if metric != SPAM:
            counts[ALL_ORDERS] += 1
    return days
