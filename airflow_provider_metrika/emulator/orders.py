"""One counter's stored orders and how each merge mode changes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from airflow_provider_metrika.emulator.constants import (
    CREATE_DATE_TIME_COLUMN,
    ID_COLUMN,
    LIST_COLUMNS,
    ORDER_COLUMNS,
)
from airflow_provider_metrika.emulator.validation import split_values

Order = dict[str, str]


def _empty_order() -> Order:
    return dict.fromkeys(ORDER_COLUMNS, "")


def _union(stored: str, added: str) -> str:
    values = split_values(stored)
    values.extend(value for value in dict.fromkeys(split_values(added)) if value not in values)
    return ",".join(values)


@dataclass
class OrderStore:
    """The orders of one counter, keyed by order ``id``.

    :param orders: order id to its columns; every known column is present, absent ones empty.
    :param orders_without_id: rows sent with an empty ``id``; Metrika cannot merge them, so each
        one is kept as a separate order.
    :param applied_counts: order id to how many rows with that id were applied, so a test can prove
        that a retried upload did not land twice.
    """

    orders: dict[str, Order] = field(default_factory=dict)
    orders_without_id: list[Order] = field(default_factory=list)
    applied_counts: dict[str, int] = field(default_factory=dict)

    def apply(self, merge_mode: str, rows: Iterable[Mapping[str, str]]) -> None:
        """Apply validated rows in file order.

        :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND``.
        :param rows: column name to cell text, only the columns present in the file.
        """
        for row in rows:
            self.apply_row(merge_mode, row)

    def apply_row(self, merge_mode: str, row: Mapping[str, str]) -> None:
        """Apply one validated row.

        :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND``.
        :param row: column name to cell text, only the columns present in the file.
        """
        order_id = row.get(ID_COLUMN, "")
        if not order_id:
            self.orders_without_id.append({**_empty_order(), **row})
            return
        stored = self.orders.get(order_id)
        merged = self._merge(merge_mode, stored, row)
        if stored is not None:
            # The creation date is fixed by the first send and ignored afterwards.
            merged[CREATE_DATE_TIME_COLUMN] = stored[CREATE_DATE_TIME_COLUMN]
        self.orders[order_id] = merged
        self.applied_counts[order_id] = self.applied_counts.get(order_id, 0) + 1

    @staticmethod
    def _merge(merge_mode: str, stored: Order | None, row: Mapping[str, str]) -> Order:
        if merge_mode == "SAVE" or stored is None:
            return {**_empty_order(), **row}
        merged = dict(stored)
        for column, cell in row.items():
            if merge_mode == "APPEND" and column in LIST_COLUMNS:
                merged[column] = _union(stored[column], cell)
            else:
                merged[column] = cell
        return merged

    def snapshot(self) -> dict[str, object]:
        """Return a JSON-ready copy of everything stored."""
        return {
            "orders": {order_id: dict(order) for order_id, order in self.orders.items()},
            "orders_without_id": [dict(order) for order in self.orders_without_id],
            "applied_counts": dict(self.applied_counts),
        }
