"""Compare the orders an upload sent with the orders Metrika linked to visits, day by day.

The linkage check's arithmetic, its log table and its messages; no task context, no pandas.

Like with like: Metrika's count for a day holds every linked order of that day, whichever run sent
it. The denominator is therefore the orders Metrika should hold for the day after the upload, as
far as the upload's report can say: with ``changed_only``, the orders sent plus those unchanged
since earlier runs (``orders_held_by_date``); otherwise the orders the run sent. A day on which
Metrika counts more linked orders than that is not a result but a sign that the comparison does
not hold (other runs or tools sent orders of that day, the orders were sent to a shared counter,
or Metrika dates linked orders by their visit): it is left out of the share and reported.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_metrika.hooks.reports import LinkedCounts, LinkedOrders

#: Status labels of the upload report -> the field of :class:`LinkedCounts` that counts them.
_STATUS_FIELDS = {
    "PAID": "paid",
    "PAID (default)": "paid",  # the report's label for an empty status (Metrika reads it as PAID)
    "IN_PROGRESS": "in_progress",
    "CANCELLED": "cancelled",
    "SPAM": "spam",
}
#: Columns of the per-status part of the table, in order.
STATUS_COLUMNS = ("paid", "in_progress", "cancelled", "other", "spam")
#: Kinds of the upload report's warnings that explain a low share.
OLD_ORDERS_WARNING = "old_orders"
DOMESTIC_PHONES_WARNING = "domestic_phones"


def status_field(status: str) -> str:
    """Return the :class:`LinkedCounts` field counting orders of an upload-report status.

    :param status: a key of the report's ``orders_by_date`` (a goal identifier counts as ``other``).
    """
    return _STATUS_FIELDS.get(status, "other")


def _share(linked: int, sent: int) -> float | None:
    return None if sent <= 0 else round(linked / sent, 4)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


@dataclass(frozen=True)
class DayLinkage:
    """One day: what should be in Metrika, and what Metrika linked.

    :param date: the creation date (the counter's time zone).
    :param expected: orders per :class:`LinkedCounts` field that Metrika should hold for the day.
    :param linked: what the Reports API counts for the day.
    """

    date: str
    expected: dict[str, int]
    linked: LinkedCounts

    @property
    def sent(self) -> int:
        """Orders of the day except spam."""
        return sum(count for name, count in self.expected.items() if name != "spam")

    @property
    def comparable(self) -> bool:
        """Metrika counts no more linked orders than there should be (else the day is a bug signal)."""
        return self.linked.orders <= self.sent and self.linked.spam <= self.expected.get("spam", 0)

    def to_dict(self) -> dict[str, Any]:
        """Return the day as a JSON-serialisable dict."""
        return {
            "date": self.date,
            "sent": self.sent,
            "linked": self.linked.orders,
            "share": _share(self.linked.orders, self.sent) if self.comparable else None,
            "comparable": self.comparable,
            "spam_sent": self.expected.get("spam", 0),
            "spam_linked": self.linked.spam,
            "by_status": {
                name: {"sent": self.expected.get(name, 0), "linked": getattr(self.linked, name)}
                for name in STATUS_COLUMNS
            },
        }


def expected_by_day(orders_by_date: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Fold the report's ``{date: {status: orders}}`` into ``{date: {field: orders}}``.

    :param orders_by_date: the upload report's ``orders_held_by_date`` (or ``orders_by_date``).
    """
    days: dict[str, dict[str, int]] = {}
    for day, statuses in orders_by_date.items():
        counts = days.setdefault(str(day), {})
        for status, count in statuses.items():
            name = status_field(str(status))
            counts[name] = counts.get(name, 0) + int(count)
    return dict(sorted(days.items()))


@dataclass
class Linkage:
    """The comparison over the days of one upload.

    :param counter_id: the counter read.
    :param days: each day the upload holds orders of.
    :param held: the denominator counts unchanged orders sent by earlier runs (``changed_only``).
    :param sampled: Metrika answered from a sample.
    """

    counter_id: int
    days: list[DayLinkage] = field(default_factory=list)
    held: bool = False
    sampled: bool = False

    @classmethod
    def compare(
        cls, expected: Mapping[str, Mapping[str, int]], linked: LinkedOrders, *, held: bool
    ) -> Linkage:
        """Pair each day's expected orders with Metrika's counts.

        :param expected: ``{date: {field: orders}}`` from :func:`expected_by_day`.
        :param linked: the Reports API's answer over those days.
        :param held: whether ``expected`` includes orders sent by earlier runs.
        """
        days = [DayLinkage(day, dict(counts), linked.day(day)) for day, counts in expected.items()]
        return cls(linked.counter_id, days, held, linked.sampled)

    @property
    def comparable_days(self) -> list[DayLinkage]:
        """Days whose counts can be compared."""
        return [day for day in self.days if day.comparable]

    @property
    def over_counted(self) -> list[DayLinkage]:
        """Days on which Metrika counts more linked orders than should exist: a bug signal."""
        return [day for day in self.days if not day.comparable]

    @property
    def sent(self) -> int:
        """Orders except spam over the comparable days."""
        return sum(day.sent for day in self.comparable_days)

    @property
    def linked(self) -> int:
        """Linked orders except spam over the comparable days."""
        return sum(day.linked.orders for day in self.comparable_days)

    @property
    def share(self) -> float | None:
        """Linked share over the comparable days; None when nothing can be compared."""
        return _share(self.linked, self.sent)

    def to_dict(self) -> dict[str, Any]:
        """Return the XCom value of the check."""
        return {
            "counter_id": self.counter_id,
            "sent": self.sent,
            "linked": self.linked,
            "share": self.share,
            "by_day": [day.to_dict() for day in self.days],
            "spam": {
                "sent": sum(day.expected.get("spam", 0) for day in self.days),
                "linked": sum(day.linked.spam for day in self.days),
            },
            "over_counted_days": [day.date for day in self.over_counted],
            "denominator": "held" if self.held else "sent",
            "sampled": self.sampled,
        }

    def table(self) -> str:
        """Return the per-day table: sent, linked, share, and sent/linked per status."""
        header = ["date", "sent", "linked", "share", *STATUS_COLUMNS]
        rows = [[*self._row(day), *self._statuses(day.expected, day.linked)] for day in self.days]
        comparable = self.comparable_days
        totals_expected: dict[str, int] = {}
        totals_linked = LinkedCounts()
        for day in comparable:
            totals_linked = totals_linked + day.linked
            for name, count in day.expected.items():
                totals_expected[name] = totals_expected.get(name, 0) + count
        total = ["total", str(self.sent), str(self.linked), _percent(self.share)]
        rows.append([*total, *self._statuses(totals_expected, totals_linked)])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        return "\n".join(f"  {_aligned(row, widths)}" for row in [header, *rows])

    @staticmethod
    def _row(day: DayLinkage) -> list[str]:
        share = _percent(_share(day.linked.orders, day.sent)) if day.comparable else "over 100%: see below"
        return [day.date, str(day.sent), str(day.linked.orders), share]

    @staticmethod
    def _statuses(expected: Mapping[str, int], linked: LinkedCounts) -> list[str]:
        return [f"{expected.get(name, 0)}/{getattr(linked, name)}" for name in STATUS_COLUMNS]


#: Width of the notes under the table: readable in the log view without scrolling sideways.
NOTE_WIDTH = 100


def wrapped(text: str) -> str:
    """Wrap each paragraph of a note at :data:`NOTE_WIDTH` characters.

    :param text: paragraphs separated by line breaks.
    """
    return "\n".join(textwrap.fill(paragraph, NOTE_WIDTH) for paragraph in text.split("\n"))


def _aligned(row: list[str], widths: list[int]) -> str:
    """Left-align the first cell (the date), right-align the numbers."""
    cells = [
        row[0].ljust(widths[0]),
        *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)),
    ]
    return "  ".join(cells).rstrip()


def _warning_count(warnings: Any, kind: str) -> int:
    if not isinstance(warnings, list):
        return 0
    return sum(int(w.get("count") or 0) for w in warnings if isinstance(w, dict) and w.get("kind") == kind)


def denominator_note(report: Mapping[str, Any], held: bool) -> str:
    """Say what the denominator counts, for the log.

    :param report: the upload's ``orders_report``.
    :param held: whether it includes orders unchanged since earlier runs.
    """
    if held:
        return (
            f"Denominator: the orders Metrika should hold for these dates after this run: "
            f"{report.get('rows_written', 0):,} sent by this run (new or changed) plus "
            f"{report.get('orders_unchanged', 0):,} unchanged since earlier runs (changed_only), by "
            "creation date. It assumes the input holds every order of these dates, as a changed_only "
            "input does when it is the whole table."
        )
    return (
        "Denominator: the orders this run sent, by creation date. If other runs or tools sent other "
        "orders of these dates to the same counter, Metrika counts them too: a day with more linked "
        "orders than sent shows this and is left out of the share (an incremental extract that sends "
        "only part of a day's orders needs changed_only=True on a whole-table input to be compared)."
    )


def reading_notes(linkage: Linkage, date1: str, date2: str) -> str:
    """Say what the numbers can and cannot tell, for the log.

    :param linkage: the comparison.
    :param date1: the first day queried.
    :param date2: the last day queried.
    """
    sampled = (
        " Metrika answered from a SAMPLE: the counts are estimates."
        if linkage.sampled
        else " Metrika's answer is not sampled (accuracy=full)."
    )
    return (
        f"Window queried: {date1} to {date2} (the creation dates of the orders sent, the counter's time "
        "zone), read as Metrika counting a linked order on its creation date."
        + sampled
        + "\nWhat the numbers say: how many of the orders of these dates Metrika tied to a visit of the "
        "site; spam orders are counted apart and never as 'not linked'.\n"
        "What they cannot say: which orders linked or why one did not (Metrika gives no per-order "
        "answer); an order with no visit in the 21 days before it (a phone or shop order of a customer "
        "who never came to the site) is expected not to link, so 100% is not the goal. Metrika does not "
        "document whether it dates a linked order by the order or by its visit: if by the visit, orders "
        "whose visit fell before the first day are counted on earlier days (the share reads low for "
        "the first days of a short window) and a day may show more linked orders than sent (left out "
        "of the share). Data appears in reports within about two hours of the upload."
    )


def low_share_message(
    share: float, threshold: float, counter_id: int, report: Mapping[str, Any], linkage: Linkage
) -> str:
    """Explain a share under ``min_linked_share``: the numbers, then the usual causes, most likely first.

    :param share: the linked share.
    :param threshold: ``min_linked_share``.
    :param counter_id: the counter read.
    :param report: the upload's ``orders_report``.
    :param linkage: the comparison.
    """
    old = _warning_count(report.get("warnings"), OLD_ORDERS_WARNING)
    domestic = _warning_count(report.get("warnings"), DOMESTIC_PHONES_WARNING)
    hashed = "emails_md5" in (report.get("columns") or []) or "phones_md5" in (report.get("columns") or [])
    causes = [
        "identifiers hashed or normalised differently from Metrika's rules (emails trimmed and "
        "lowercased, phones digits only with the country code, MD5 in lowercase hex of the normalised "
        "value). Check: md5('mail@yandex.ru') must be 3c56ff8fef0f6c65b36b2d25720fe276 in your "
        "pipeline; send raw emails and phones and let hash_identifiers=True hash them"
        + (" (this upload sent MD5 columns)" if hashed else "")
        + (
            f"; {domestic:,} phones of this upload start with a domestic 8 (rewrite_leading_8=True)"
            if domestic
            else ""
        ),
        "orders created more than 21 days before the upload, which Metrika no longer links. Check: the "
        "upload task's 'old_orders' warning"
        + (f" ({old:,} orders of this upload)" if old else " (none in this upload)")
        + "; send orders daily",
        "the counter lacks the setting that matches visitors by email and phone (only ClientIDs link "
        "without it). Check: the counter's settings in Metrika (see Metrika's help on CRM data for the "
        "setting's current name); orders with client_ids link regardless",
        f"the wrong counter: the orders went to counter {counter_id}. Check: that its tag is on the site "
        "your customers visit (the upload task's 'Metrika counter' link opens it)",
    ]
    return (
        f"Linked share {share:.1%} ({linkage.linked:,} of {linkage.sent:,} orders, spam apart) on counter "
        f"{counter_id} is below min_linked_share {threshold:.1%}. Usual causes, most likely first:\n"
        + "\n".join(f"  {number}. {cause}" for number, cause in enumerate(causes, start=1))
    )


def over_count_message(linkage: Linkage) -> str:
    """Explain days on which Metrika counts more linked orders than should exist.

    :param linkage: the comparison.
    """
    days = ", ".join(
        f"{day.date} ({day.linked.orders} linked of {day.sent} sent"
        + (f"; spam {day.linked.spam} of {day.expected.get('spam', 0)}" if day.linked.spam else "")
        + ")"
        for day in linkage.over_counted
    )
    return (
        f"Metrika counts more linked orders than this upload accounts for on {days}: a share above 100% "
        "is not a result, so these days are left out of the share. Likely causes: other runs or tools "
        "sent orders of these dates to this counter (an incremental extract without changed_only, "
        "another DAG, a manual upload); rows without an order id sent again (each is a new order in "
        "Metrika); Metrika counting linked orders on their visit's date. Check the counter's uploadings "
        "and compare like with like (changed_only=True on a whole-table input)."
    )
