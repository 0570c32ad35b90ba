"""Totals of the written rows: counts per order status, creation date and goal, exact revenue per currency."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Context, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.columns import DEFAULT_CURRENCY, DEFAULT_STATUS_LABEL
from airflow_provider_metrika.simple_orders.text import empty_strings

#: Largest scale summed in Arrow decimals; more fractional digits are summed in Python.
_MAX_SCALE = 18
#: Python's default 28 significant digits would round sums of 38-digit decimals.
_EXACT = Context(prec=120)


def _fraction_digits(revenue: pa.Array) -> int:
    dot = pc.find_substring(revenue, ".").to_numpy()
    lengths = pc.binary_length(revenue).to_numpy()
    digits = np.where(dot >= 0, lengths - dot - 1, 0)
    return int(digits.max()) if len(digits) else 0


def _sum_by_currency(revenue: pa.Array, currency: pa.Array) -> dict[str, Decimal]:
    """Sum plain decimal strings per currency exactly: Arrow decimals, Python for extreme values."""
    scale = _fraction_digits(revenue)
    if scale <= _MAX_SCALE:
        try:
            amounts = revenue.cast(pa.decimal128(38, scale))
            table = pa.table({"currency": currency, "amount": amounts})
            sums = table.group_by("currency").aggregate([("amount", "sum")]).to_pylist()
            return {row["currency"]: row["amount_sum"] for row in sums}
        except pa.ArrowInvalid:
            pass  # more than 38 digits: fall through to Python
    totals: dict[str, Decimal] = {}
    for code, amount in zip(currency.to_pylist(), revenue.to_pylist(), strict=True):
        totals[code] = _EXACT.add(totals.get(code, Decimal(0)), Decimal(amount))
    return totals


def _status_counts(dates: pa.Array | None, status: pa.Array | None, rows: int) -> list[dict[str, object]]:
    """Count rows per (creation date, status) in one Arrow group-by; a missing column groups as None."""
    label = pa.repeat(DEFAULT_STATUS_LABEL, rows) if status is None else status
    columns = {"status": label}
    if dates is not None:
        columns["date"] = pc.utf8_slice_codeunits(dates, 0, 10)
    table = pa.table(columns)
    return table.group_by(list(columns)).aggregate([([], "count_all")]).to_pylist()


def _goal_counts(goals: pa.Array) -> Counter[str]:
    """Count the rows naming each goal identifier in a normalised ``goals`` column (``id[:price],...``).

    Prices are cut first, so that the cells repeat a handful of identifier lists: each distinct list
    is split once, in Python, and counted as many times as it occurs (a row naming a goal twice counts
    once).
    """
    counts: Counter[str] = Counter()
    for item in pc.value_counts(pc.replace_substring_regex(goals, ":[^,]*", "")).to_pylist():
        cell = item["values"]
        for identifier in set(cell.split(",") if cell else ()) - {""}:
            counts[identifier] += int(item["counts"])
    return counts


@dataclass
class BatchTotals:
    """Counts of one batch of rows, computed where the batch is normalised and added up in input order.

    :param statuses: rows per status.
    :param by_date: rows per (creation date, status); empty without a ``create_date_time`` column.
    :param without_id_by_date: rows without ``id`` per creation date.
    :param revenue: exact revenue per currency code (``""`` = roubles).
    :param goals: rows per goal identifier named in ``goals`` (a row naming one twice counts once).
    """

    statuses: Counter[str] = field(default_factory=Counter)
    by_date: Counter[tuple[str, str]] = field(default_factory=Counter)
    without_id_by_date: Counter[str] = field(default_factory=Counter)
    revenue: dict[str, Decimal] = field(default_factory=dict)
    goals: Counter[str] = field(default_factory=Counter)


def count_rows(cells: dict[str, pa.Array], without_id: np.ndarray, *, held_only: bool = False) -> BatchTotals:
    """Count a batch of rows per status and creation date, and sum its revenue per currency.

    Written rows are distinct orders (the duplicate check keeps one row per id), and Metrika keeps each
    row without an ``id`` as an order of its own, so a row is one order.

    :param cells: the rows' normalised cells: ``order_status``, ``revenue``, ``currency``,
        ``create_date_time`` (``yyyy-MM-dd[ HH:mm:ss]``), ``goals``, each optional; ``""`` status is
        PAID by default.
    :param without_id: per row, True when its ``id`` is empty.
    :param held_only: the rows are not written (unchanged since the last sync): count only
        :attr:`BatchTotals.by_date`.
    """
    totals = BatchTotals()
    rows = len(without_id)
    if rows == 0:
        return totals
    dates = cells.get("create_date_time")
    if held_only and dates is None:
        return totals
    for item in _status_counts(dates, cells.get("order_status"), rows):
        status = str(item["status"] or DEFAULT_STATUS_LABEL)
        count = int(item["count_all"])  # type: ignore[call-overload]
        totals.statuses[status] += count
        if dates is not None:
            totals.by_date[(str(item["date"]), status)] += count
    if held_only:
        totals.statuses.clear()
        return totals
    if dates is not None and without_id.any():
        days = pc.utf8_slice_codeunits(dates.filter(pa.array(without_id)), 0, 10)
        for item in pc.value_counts(days).to_pylist():
            totals.without_id_by_date[str(item["values"])] += int(item["counts"])
    revenue = cells.get("revenue")
    if revenue is not None:
        currency = cells.get("currency")
        codes = empty_strings(rows) if currency is None else currency
        present = pc.not_equal(revenue, "")
        totals.revenue = _sum_by_currency(revenue.filter(present), codes.filter(present))
    goals = cells.get("goals")
    if goals is not None:
        totals.goals = _goal_counts(goals)
    return totals


def plain_decimal(value: Decimal) -> str:
    """Return a decimal as plain text without exponent or trailing zeros.

    :param value: the number.
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class OrderStats:
    """Adds up the counts of written rows, and of the rows Metrika holds after the run."""

    statuses: Counter[str] = field(default_factory=Counter)
    revenue: dict[str, Decimal] = field(default_factory=dict)
    by_date: Counter[tuple[str, str]] = field(default_factory=Counter)
    held_by_date: Counter[tuple[str, str]] = field(default_factory=Counter)
    without_id_by_date: Counter[str] = field(default_factory=Counter)
    goals: Counter[str] = field(default_factory=Counter)

    def add(self, totals: BatchTotals, *, held_only: bool = False) -> None:
        """Add one batch's counts.

        :param totals: what :func:`count_rows` counted.
        :param held_only: the rows are not written but Metrika holds them: count them only in
            :attr:`held_by_date`.
        """
        self.held_by_date.update(totals.by_date)
        if held_only:
            return
        self.by_date.update(totals.by_date)
        self.statuses.update(totals.statuses)
        self.without_id_by_date.update(totals.without_id_by_date)
        self.goals.update(totals.goals)
        for code, amount in totals.revenue.items():
            key = code or DEFAULT_CURRENCY
            self.revenue[key] = _EXACT.add(self.revenue.get(key, Decimal(0)), amount)

    def orders_by_date(self, held: bool = False) -> dict[str, dict[str, int]]:
        """Return ``{date: {status: orders}}``, dates ascending, statuses most frequent first.

        :param held: the orders Metrika should hold after the run (written and unchanged), not
            only the written ones.
        """
        counts = self.held_by_date if held else self.by_date
        days: dict[str, dict[str, int]] = {}
        for (day, status), count in sorted(counts.items(), key=lambda item: (item[0][0], -item[1])):
            days.setdefault(day, {})[status] = count
        return days

    def status_counts(self) -> dict[str, int]:
        """Return counts per status, most frequent first."""
        return dict(self.statuses.most_common())

    def goal_counts(self) -> dict[str, int]:
        """Return the orders naming each goal identifier in ``goals``, most frequent first."""
        return dict(self.goals.most_common())

    def revenue_by_currency(self) -> dict[str, str]:
        """Return revenue per currency as plain decimal text, sorted by currency."""
        return {code: plain_decimal(total) for code, total in sorted(self.revenue.items())}
