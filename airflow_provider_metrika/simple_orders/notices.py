"""Warnings about rows that are sent but will not do what the user expects in Metrika's reports.

A warning never rejects a row or fails the run: it counts the rows, shows a few masked examples and
names the argument that fixes them. Four kinds are found while preparing:

- ``domestic_phones``: phones written the Russian domestic way, 8 + 10 digits, sent as they are
  (``rewrite_leading_8`` is off): they do not match the ``7...`` numbers Metrika knows, so those
  orders do not link to visits;
- ``suspicious_phones``: phones that may be real but are unlikely as dialled numbers: a country code
  no country uses, fewer than 8 digits, or the country code written twice
  (:mod:`~airflow_provider_metrika.simple_orders.phone_plan`);
- ``goal_statuses``: ``order_status`` values other than PAID, IN_PROGRESS, CANCELLED and SPAM,
  which Metrika reads as identifiers of the site's JavaScript goals;
- ``old_orders``: orders created more than :data:`LINK_WINDOW_DAYS` days before the upload, which
  Metrika no longer links to visits.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import (
    DEFAULT_STATUS_LABEL,
    MAX_EXAMPLES,
    ORDER_STATUSES,
)
from airflow_provider_metrika.simple_orders.masking import mask_value
from airflow_provider_metrika.simple_orders.text import MultiValues

#: Metrika links an order to visits only if it was created at most this many days before the upload.
LINK_WINDOW_DAYS = 21

#: Examples kept per row warning, and distinct statuses listed in the goal-status warning.
_EXAMPLES = min(5, MAX_EXAMPLES)
_STATUSES_SHOWN = 20

DOMESTIC_PHONES = "domestic_phones"
SUSPICIOUS_PHONES = "suspicious_phones"
GOAL_STATUSES = "goal_statuses"
OLD_ORDERS = "old_orders"

_MESSAGES = {
    DOMESTIC_PHONES: (
        "phones look like Russian domestic numbers (8 + 10 digits) and are sent as they are: "
        "Metrika knows them as 7XXXXXXXXXX, so these orders will not match visits"
    ),
    SUSPICIOUS_PHONES: (
        "phones are unlikely to be real numbers and are sent as they are: a country code no country uses "
        "(a number without its country code?), fewer than 8 digits (a local number?) or the country code "
        "written twice, so these orders may not match visits"
    ),
    GOAL_STATUSES: (
        "order_status values are not PAID, IN_PROGRESS, CANCELLED or SPAM: Metrika reads each as the "
        "identifier of one of the site's JavaScript goals"
    ),
    OLD_ORDERS: (
        f"orders were created more than {LINK_WINDOW_DAYS} days before the upload: Metrika no longer links "
        "them to visits (they still show in CRM reports)"
    ),
}
_FIXES = {
    DOMESTIC_PHONES: "rewrite_leading_8=True",
    SUSPICIOUS_PHONES: (
        "write each phone in full international form, country code first (+49 30 ..., +7 916 ...), "
        "at the source"
    ),
    GOAL_STATUSES: (
        "status_map={'<CRM status>': 'PAID' | 'IN_PROGRESS' | 'CANCELLED' | 'SPAM'} for CRM statuses; "
        "keep a value only if it is a JavaScript goal identifier of the counter"
    ),
    OLD_ORDERS: (
        "upload orders within 21 days of their creation (schedule the upload daily); nothing to change "
        "if they are sent for the CRM reports only"
    ),
}


@dataclass(frozen=True)
class OrdersWarning:
    """Rows sent that will not work as expected, and how to fix them.

    :param kind: ``domestic_phones``, ``suspicious_phones``, ``goal_statuses`` or ``old_orders``.
    :param count: rows concerned.
    :param message: what happens to them in Metrika.
    :param fix: the argument (or action) that fixes them.
    :param examples: a few examples, emails and phones masked; for ``goal_statuses``, each value with
        its count.
    """

    kind: str
    count: int
    message: str
    fix: str
    examples: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return the warning as one log line, examples included."""
        shown = f" (e.g. {'; '.join(self.examples)})" if self.examples else ""
        rows = "1 row" if self.count == 1 else f"{self.count:,} rows"
        return f"{rows}: {self.message}{shown}. Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        """Return the warning as a JSON-serialisable dict."""
        return {
            "kind": self.kind,
            "count": self.count,
            "message": self.message,
            "fix": self.fix,
            "examples": list(self.examples),
        }


def domestic_phone_rows(phones: MultiValues, rows: int) -> np.ndarray:
    """Return a mask of the rows holding at least one phone of 8 + 10 digits that can be Russian or Kazakh.

    None of those starts 8 0, 8 1 or 8 2: ``81312345678`` is Japan's +81 3 1234 5678.

    :param phones: normalised phones (digits only) of a batch.
    :param rows: rows in the batch.
    """
    values = phones.values
    if len(values) == 0:
        return np.zeros(rows, dtype=bool)
    domestic = pc.match_substring_regex(values, r"^8[3-9][0-9]{9}$").fill_null(False)
    mask = np.zeros(rows, dtype=bool)
    mask[phones.parents[domestic.to_numpy(zero_copy_only=False)]] = True
    return mask


def link_cutoff(now: dt.datetime, timezone: str) -> str:
    """Return the counter's wall-clock time :data:`LINK_WINDOW_DAYS` days before ``now``, as Metrika's text.

    :param now: the moment of the upload; a naive value is taken as UTC.
    :param timezone: the counter's IANA time zone.
    """
    aware = now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    local = aware.astimezone(zoneinfo.ZoneInfo(timezone)) - dt.timedelta(days=LINK_WINDOW_DAYS)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def old_order_rows(dates: pa.Array, cutoff: str) -> np.ndarray:
    """Return a mask of the rows created before ``cutoff``; date-only values mean 23:59 of the day.

    :param dates: normalised ``create_date_time`` text (``""`` for invalid rows).
    :param cutoff: ``yyyy-MM-dd HH:mm:ss`` from :func:`link_cutoff`.
    """
    date_only = pc.equal(pc.binary_length(dates), 10)
    full = pc.if_else(date_only, pc.binary_join_element_wise(dates, " 23:59:00", ""), dates)
    old = pc.and_(pc.less(full, cutoff), pc.not_equal(dates, ""))
    return old.fill_null(False).to_numpy(zero_copy_only=False)


@dataclass
class WarningLog:
    """Row counts and first examples of the per-row warnings, across batches."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def record(self, kind: str, mask: np.ndarray, first_row: int, shown: Callable[[int], str]) -> None:
        """Add one batch's rows of a kind.

        :param kind: the warning kind.
        :param mask: the batch's rows concerned.
        :param first_row: 1-based input row number of the batch's first row.
        :param shown: returns the display text (masked) of a row index.
        """
        count = int(mask.sum())
        if not count:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        examples = self.examples.setdefault(kind, [])
        for index in np.flatnonzero(mask)[: max(0, _EXAMPLES - len(examples))]:
            examples.append(f"row {first_row + int(index)}: {shown(int(index))}")

    def warnings(self, status_counts: dict[str, int]) -> list[OrdersWarning]:
        """Return every warning found, goal-id statuses included.

        :param status_counts: written rows per normalised status.
        """
        found = [
            OrdersWarning(kind, count, _MESSAGES[kind], _FIXES[kind], self.examples.get(kind, []))
            for kind, count in self.counts.items()
        ]
        goals = goal_statuses(status_counts)
        if goals:
            examples = [f"{status!r} x {count:,}" for status, count in list(goals.items())[:_STATUSES_SHOWN]]
            if len(goals) > _STATUSES_SHOWN:
                examples.append(f"... and {len(goals) - _STATUSES_SHOWN:,} more values")
            total = sum(goals.values())
            found.append(
                OrdersWarning(GOAL_STATUSES, total, _MESSAGES[GOAL_STATUSES], _FIXES[GOAL_STATUSES], examples)
            )
        order = [DOMESTIC_PHONES, SUSPICIOUS_PHONES, GOAL_STATUSES, OLD_ORDERS]
        return sorted(found, key=lambda warning: order.index(warning.kind))


def goal_statuses(status_counts: dict[str, int]) -> dict[str, int]:
    """Return the statuses Metrika reads as JavaScript goal identifiers, with their row counts.

    :param status_counts: rows per normalised status, as in :attr:`OrdersReport.status_counts`.
    """
    return {
        status: count
        for status, count in status_counts.items()
        if status not in ORDER_STATUSES and status != DEFAULT_STATUS_LABEL
    }


def masked_phone(text: str) -> str:
    """Return a phone cell masked for a warning example.

    :param text: the input cell.
    """
    return mask_value(text, "phones")
