"""Test helpers for offline conversions and calls, part of :class:`~.testing.EmulatorClient`.

A test sets a counter's window or linkage, runs the code under test, then reads what the counter
stores::

    metrika.configure_offline(12345, visit_join_threshold=date(2031, 1, 1))  # uploads refused
    metrika.configure_offline(12345, visit_join_threshold=None, unlinked_identifiers=["42"])
    ...
    assert len(metrika.stored_conversions(12345)) == 3  # a re-sent row overwrites, never adds
    assert metrika.conversions_uploadings(12345)[0]["final_status"] == "PROCESSED"
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from airflow_provider_metrika.emulator.constants import DEFAULT_COUNTER_ID


class OfflineControl:
    """Read and set a counter's offline conversions and calls through the control API."""

    def _call(self, method: str, path: str, json: object = None) -> Any:
        raise NotImplementedError  # the client this is mixed into sends the request

    def configure_offline(self, counter_id: int = DEFAULT_COUNTER_ID, **settings: object) -> dict[str, Any]:
        """Change a counter's offline settings and return all of them.

        :param counter_id: the counter.
        :param settings: any of ``visit_join_threshold`` and ``calls_visit_join_threshold`` (a date or
            ``YYYY-MM-DD``: uploads before that day, in the counter's time zone, are refused with
            "upload becomes available on <date>"; ``None``: open, the default),
            ``unlinked_identifiers`` (identifiers whose rows never link), ``dropped_identifiers``
            (identifiers whose rows Metrika drops as invalid, counted) and ``hold_processing``
            (uploadings made while on read ``UPLOADED`` until :meth:`release`). ``reset`` restores
            the defaults.
        """
        payload = {
            name: value.isoformat() if isinstance(value, date) else value for name, value in settings.items()
        }
        for key in ("unlinked_identifiers", "dropped_identifiers"):
            items = settings.get(key)
            if isinstance(items, Iterable) and not isinstance(items, str):
                payload[key] = sorted(str(item) for item in items)
        result: dict[str, Any] = self._call("POST", f"/counters/{counter_id}/offline", payload)["settings"]
        return result

    def offline(self, counter_id: int = DEFAULT_COUNTER_ID) -> dict[str, Any]:
        """Return a counter's ``settings``, ``conversions``, ``calls`` and ``uploadings`` (by kind).

        :param counter_id: the counter.
        """
        result: dict[str, Any] = self._call("GET", f"/counters/{counter_id}/offline")
        return result

    def stored_conversions(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return the conversions a counter holds, one per (identifier, ``Target``, ``DateTime``).

        Each row has its columns, ``client_id_type``, ``identifier``, the ``uploading_id`` that
        last wrote it, ``writes`` (how many uploads sent it) and ``linked``.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self.offline(counter_id)["conversions"]
        return rows

    def stored_calls(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return the calls a counter holds, in the order received; a re-sent call is there twice.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self.offline(counter_id)["calls"]
        return rows

    def conversions_uploadings(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return every conversions uploading, newest first, with ``final_status``, ``polls`` and ``details``.

        Reading them here is not a poll: their status does not move.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self.offline(counter_id)["uploadings"]["conversions"]
        return rows

    def calls_uploadings(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return every calls uploading, newest first, as :meth:`conversions_uploadings` does.

        :param counter_id: the counter.
        """
        rows: list[dict[str, Any]] = self.offline(counter_id)["uploadings"]["calls"]
        return rows
