"""What the emulator remembers of ad expenses: rows per provider and day, uploadings, settings.

The emulator's model, chosen to be simple and predictable for tests:

* an upload ADDS its rows (per provider, day and the UTM / source columns): whether Metrika's API
  replaces an earlier upload for the same period is not documented, so the emulator takes the
  harsher reading, under which only delete-then-upload keeps totals right;
* a delete removes, on the days it lists, the rows of its provider (every provider's when the
  request names none, as Metrika documents) that match the UTM columns the delete row gives;
* an uploading answers ``UPLOADED`` to its POST and to every read while held (``hold_processing``)
  or younger than ``status_delay``; after that the first read shows ``IN_PROGRESS`` and later reads
  ``PROCESSED``. Its rows take effect when it reaches ``PROCESSED``, in that order: a client that
  uploads before its delete is processed loses the upload, as it could on Metrika;
* the Reports API reads per-day totals of processed rows; with ``end_to_end_analytics`` off they
  read zero, as users report of Metrika.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from airflow_provider_metrika.emulator.constants import (
    COUNTER_CURRENCY,
    EXPENSES_IN_PROGRESS,
    EXPENSES_PROCESSED,
    EXPENSES_TYPE_DELETE,
    EXPENSES_UPLOADED,
)
from airflow_provider_metrika.emulator.expenses_files import KEY_COLUMNS, ExpensesFile
from airflow_provider_metrika.emulator.uploadings import format_datetime

#: Uploading ids start here, apart from the other kinds' ids.
_FIRST_ID = 5_000_001


@dataclass
class ExpensesUploading:
    """One accepted upload or delete file, and the rows it applies once processed.

    :param uploading_id: its id.
    :param kind: ``EXPENSES`` or ``REMOVES``.
    :param provider: the ``provider`` query value ("" for a delete that names none).
    :param comment: the ``comment`` query value.
    :param parsed: the file read.
    :param created_at: the UTC moment it was accepted.
    :param held: stays ``UPLOADED`` until released.
    :param details: emulator-only facts (file name and hash), shown by the control API only.
    """

    uploading_id: int
    kind: str
    provider: str
    comment: str
    parsed: ExpensesFile
    created_at: datetime
    held: bool = False
    details: dict[str, object] = field(default_factory=dict)
    polls: int = 0
    status: str = EXPENSES_UPLOADED

    def to_api(self) -> dict[str, object]:
        """Render the object Metrika answers, at the status last shown."""
        return {
            "id": self.uploading_id,
            "create_time": format_datetime(self.created_at),
            "source_quantity": self.parsed.source_quantity,
            "provider": self.provider,
            "comment": self.comment,
            "type": self.kind,
            "status": self.status,
        }

    def to_control(self) -> dict[str, object]:
        """Render the object with the emulator-only details."""
        return {**self.to_api(), "polls": self.polls, "held": self.held, "details": dict(self.details)}


@dataclass
class CounterExpenses:
    """One counter's expenses and the test's settings for it.

    :param hold_processing: uploadings made while on stay ``UPLOADED`` until released.
    :param end_to_end_analytics: off: the Reports API reads zero expenses.
    """

    hold_processing: bool = False
    end_to_end_analytics: bool = True
    rows: list[dict[str, object]] = field(default_factory=list)
    uploadings: list[ExpensesUploading] = field(default_factory=list)

    def apply(self, uploading: ExpensesUploading) -> None:
        """Apply a processed upload (add its rows) or delete (remove the rows it names).

        :param uploading: the uploading just processed.
        """
        if uploading.kind != EXPENSES_TYPE_DELETE:
            self.rows += [
                {"provider": uploading.provider, **row, "uploading_id": uploading.uploading_id}
                for row in uploading.parsed.rows
            ]
            return
        self.rows = [
            row
            for row in self.rows
            if not any(_deletes(uploading.provider, d, row) for d in uploading.parsed.rows)
        ]

    def totals(self, first: date, last: date, currency: str) -> dict[date, Decimal]:
        """Return processed expenses per day in one currency (rows without one are the counter's).

        :param first: the first day.
        :param last: the last day.
        :param currency: the currency asked.
        """
        totals: dict[date, Decimal] = {}
        for row in self.rows:
            day = row["Date"]
            assert isinstance(day, date)
            if first <= day <= last and (row.get("Currency") or COUNTER_CURRENCY) == currency:
                amount = row["Expenses"] if self.end_to_end_analytics else Decimal(0)
                assert isinstance(amount, Decimal)
                totals[day] = totals.get(day, Decimal(0)) + amount
        return totals


def _deletes(provider: str, delete: dict[str, object], row: dict[str, object]) -> bool:
    if provider and row["provider"] != provider:
        return False
    if row["Date"] != delete["Date"]:
        return False
    return all(row.get(column, "") == delete[column] for column in KEY_COLUMNS if delete.get(column))


class ExpensesState:
    """Expenses of every counter; used on the event loop only."""

    def __init__(self) -> None:
        self._counters: dict[int, CounterExpenses] = {}
        self._ids = itertools.count(_FIRST_ID)

    def counter(self, counter_id: int) -> CounterExpenses:
        """Return a counter's expenses, creating them empty.

        :param counter_id: the counter.
        """
        return self._counters.setdefault(counter_id, CounterExpenses())

    def clear(self) -> None:
        """Forget everything, settings included."""
        self._counters.clear()

    def release(self) -> None:
        """Let every held uploading move on."""
        for counter in self._counters.values():
            for uploading in counter.uploadings:
                uploading.held = False

    def store(
        self,
        counter_id: int,
        kind: str,
        provider: str,
        comment: str,
        parsed: ExpensesFile,
        details: dict[str, object],
    ) -> ExpensesUploading:
        """Record an accepted upload or delete; its rows apply once it is processed.

        :param counter_id: the counter.
        :param kind: ``EXPENSES`` or ``REMOVES``.
        :param provider: the provider ("" for a delete of every provider's rows).
        :param comment: the comment.
        :param parsed: the file read.
        :param details: emulator-only facts to keep.
        """
        counter = self.counter(counter_id)
        uploading = ExpensesUploading(
            next(self._ids),
            kind,
            provider,
            comment,
            parsed,
            datetime.now(UTC),
            counter.hold_processing,
            details,
        )
        counter.uploadings.append(uploading)
        return uploading

    def poll(self, counter_id: int, uploading: ExpensesUploading, status_delay: float) -> dict[str, object]:
        """Render an uploading for an API read, moving its status on as reads do.

        :param counter_id: its counter.
        :param uploading: the uploading.
        :param status_delay: seconds after creation during which it reads ``UPLOADED``.
        """
        age = (datetime.now(UTC) - uploading.created_at).total_seconds()
        if uploading.status != EXPENSES_PROCESSED and not uploading.held and age >= status_delay:
            uploading.polls += 1
            uploading.status = EXPENSES_IN_PROGRESS if uploading.polls == 1 else EXPENSES_PROCESSED
            if uploading.status == EXPENSES_PROCESSED:
                self.counter(counter_id).apply(uploading)
        return uploading.to_api()

    def find(self, counter_id: int, uploading_id: int) -> ExpensesUploading | None:
        """Return an uploading by id, or None.

        :param counter_id: the counter.
        :param uploading_id: its id.
        """
        return next((u for u in self.counter(counter_id).uploadings if u.uploading_id == uploading_id), None)
