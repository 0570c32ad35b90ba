"""Test helpers for ad expenses, part of :class:`~.testing.EmulatorClient`.

A test sets a counter's expense settings, runs the code under test, then reads what the counter
holds::

    metrika.configure_expenses(12345, hold_processing=True)  # uploadings stay UPLOADED
    ...
    rows = metrika.stored_expenses(12345)  # processed rows: provider, Date, UTM..., Expenses
    assert metrika.expenses_uploadings(12345)[0]["type"] == "REMOVES"
"""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika.emulator.constants import DEFAULT_COUNTER_ID


class ExpensesControl:
    """Read and set a counter's expenses through the control API."""

    def _call(self, method: str, path: str, json: object = None) -> Any:
        raise NotImplementedError  # the client this is mixed into sends the request

    def configure_expenses(self, counter_id: int = DEFAULT_COUNTER_ID, **settings: bool) -> dict[str, Any]:
        """Change a counter's expense settings and return all of them.

        :param counter_id: the counter.
        :param settings: ``hold_processing`` (uploadings made while on read ``UPLOADED`` until
            ``release()``) and ``end_to_end_analytics`` (False: the Reports API reads zero expenses).
        """
        result: dict[str, Any] = self._call("POST", f"/counters/{counter_id}/expenses", dict(settings))[
            "settings"
        ]
        return result

    def stored_expenses(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return the processed expense rows a counter holds, one per day (ranges spread).

        Each row has ``provider``, ``Date``, the UTM and source columns sent, ``Expenses`` (decimal
        text), ``Currency``, ``Clicks`` and the ``uploading_id`` that added it.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self._call("GET", f"/counters/{counter_id}/expenses")["rows"]
        return rows

    def expenses_uploadings(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return every expenses upload and delete, newest first, with ``polls``, ``held`` and ``details``.

        Reading them here is not a poll: their status does not move.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self._call("GET", f"/counters/{counter_id}/expenses")["uploadings"]
        return rows
