"""The life cycle of a ``changed_only`` upload: read the sync state, record what is sent and held."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.arguments import read_flag
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError, MetrikaSyncStateError

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import ObjectStoragePath
    from airflow_provider_metrika.simple_orders.sync_state import Destination, SyncState
    from airflow_provider_metrika.sync.changes import Finder

#: XCom key of what a ``changed_only`` task recorded in its sync state (counts and location).
SYNC_STATE_XCOM_KEY = "sync_state"


def check_sync_arguments(task_id: str, changed_only: bool, sync_state: str | None, full_refresh: Any) -> None:
    """Refuse sync arguments that do not go together, when the DAG is parsed.

    Whether the kind's options allow changed-only sends is the kind's rule, checked when it is known.
    """
    from airflow_provider_metrika.arguments import is_template

    if changed_only and sync_state is None:
        raise MetrikaInvalidArgumentError(
            f"{task_id}: changed_only=True needs sync_state=, a directory or bucket prefix where the "
            "state of what was sent is kept, e.g. sync_state='s3://bucket/metrika-state/'"
        )
    if not changed_only and sync_state is not None:
        raise MetrikaInvalidArgumentError(f"{task_id}: sync_state= is used only with changed_only=True")
    if not is_template(full_refresh) and read_flag("full_refresh", full_refresh) and not changed_only:
        raise MetrikaInvalidArgumentError(
            f"{task_id}: full_refresh=True rebuilds the state of changed_only=True; without "
            "changed_only every order is sent anyway"
        )


@dataclass(frozen=True)
class SyncCounts:
    """
    What the sync needs of a preparation report: the columns sent and the change counts.

    :param columns: the columns of the rows sent, in file order.
    :param new: orders the state did not hold.
    :param changed: orders whose normalised row differed from the one sent before.
    :param unchanged: orders equal to the state's, not sent.
    :param sent: orders written to the parts.
    """

    columns: tuple[str, ...]
    new: int
    changed: int
    unchanged: int
    sent: int

    @classmethod
    def of(cls, report: Any) -> SyncCounts:
        """Read them from the orders core's report (an ``OrdersReport``)."""
        return cls(
            tuple(report.columns),
            report.orders_new,
            report.orders_changed,
            report.orders_unchanged,
            report.rows_written,
        )

    @classmethod
    def from_dict(cls, report: Mapping[str, Any]) -> SyncCounts:
        """Read them from the report as pushed to XCom (a deferred try resumes from that copy)."""
        return cls(
            tuple(report["columns"]),
            int(report["orders_new"]),
            int(report["orders_changed"]),
            int(report["orders_unchanged"]),
            int(report["rows_written"]),
        )


@dataclass
class ChangedOnlySync:
    """
    The sync state of one destination, for one task: read before preparing, committed after acceptance.

    :param task_id: the task, for messages.
    :param base: the rendered ``sync_state`` (a directory or bucket prefix).
    :param destination: the API host and counter.
    :param full_refresh: send everything and rebuild the state.
    :param log: the task's log.
    :param find: looks up uploadings by id, to resolve earlier uploads not confirmed yet.
    :param owner: the task instance's identity: an upload it recorded in an earlier try, which is
        over, is no longer in flight.
    """

    task_id: str
    base: str
    destination: Destination
    full_refresh: bool
    log: logging.Logger | Any
    find: Finder | None = None
    owner: str | None = None
    #: With ``full_refresh``, the columns of the state read (None: none could be read).
    _read_columns: tuple[str, ...] | None = None

    @property
    def location(self) -> ObjectStoragePath:
        """The state file."""
        from airflow_provider_metrika.sync.store import state_location

        if not self.base or not str(self.base).strip():
            raise MetrikaInvalidArgumentError(
                f"{self.task_id}: sync_state rendered empty: pass a directory or bucket prefix "
                "such as s3://bucket/metrika-state/"
            )
        return state_location(str(self.base).strip(), self.destination)

    def read(self) -> SyncState:
        """Read what the destination holds; refuse a foreign state.

        With ``full_refresh`` every order is sent whatever the state holds; the state is still read
        (when it can be) so that the refresh's fold can tell a concurrent run's change from its own.
        """
        from airflow_provider_metrika.simple_orders.sync_state import SyncState, SyncStateError
        from airflow_provider_metrika.sync.store import load_state

        location = self.location
        try:
            state = load_state(location, self.destination, self.find, over=self.owner)
        except SyncStateError as error:
            if not self.full_refresh:
                raise MetrikaSyncStateError(f"{self.task_id}: {error}") from None
            state = SyncState.empty(self.destination)
            state.location = str(location)
        else:
            self._log_resolution(state)
        if self.full_refresh:
            self.log.info(
                "full_refresh: every order is sent; the sync state %s is rebuilt once Metrika holds them",
                location,
            )
            state.send_all = True
            self._read_columns = state.columns
            return state
        self.log.info(
            "Sync state %s: %s orders sent to %s before (%s in memory); only new and changed orders are sent",
            location,
            f"{state.orders:,}",
            self.destination.describe(),
            f"{state.nbytes:,} bytes",
        )
        return state

    def _log_resolution(self, state: SyncState) -> None:
        """Say what became of earlier uploads not confirmed when their run ended."""
        resolution = state.resolution
        if resolution is None:
            return
        if resolution.resolved:
            self.log.info(
                "Earlier uploads resolved with Metrika's list of uploadings: %s",
                ", ".join(f"{count} {status}" for status, count in sorted(resolution.resolved.items())),
            )
        import numpy as np

        from airflow_provider_metrika.simple_orders import sync_fold

        marks = (sync_fold.UNKNOWN, sync_fold.UNKNOWN_NEW, sync_fold.PENDING, sync_fold.PENDING_NEW)
        unknown = int(np.isin(state.fingerprints, marks).sum())
        if unknown:
            self.log.warning(
                "%s orders were sent by an earlier run that Metrika has not confirmed (the run failed, "
                "was killed, did not wait for validation, or its uploading is still validating or "
                "partly FAILED): they are sent again whatever their value (merge_mode SAVE/UPDATE "
                "makes that harmless)",
                f"{unknown:,}",
            )

    def begin(self, sent: Any, counts: SyncCounts) -> str:
        """Record the orders about to be sent, before the first part goes; return the upload's name.

        :param sent: the local file of keys and fingerprints to send.
        :param counts: the preparation's columns and counts.
        """
        from airflow_provider_metrika.sync.changes import write_rows

        columns = list(counts.columns)
        compared = (
            self.full_refresh and self._read_columns is not None and list(self._read_columns) == columns
        )
        return write_rows(
            self.location, sent, columns, rebuild=self.full_refresh, compared=compared, owner=self.owner
        )

    def accepted(self, upload: str, uploadings: list[dict[str, Any]]) -> None:
        """Record that Metrika accepted every part of an upload, with the uploading ids."""
        from airflow_provider_metrika.sync.changes import ACCEPTED, write_receipt

        ids = {str(u["uploading_id"]): u.get("datetime") for u in uploadings}
        write_receipt(self.location, upload, ACCEPTED, ids)

    def commit(self, upload: str | None, counts: SyncCounts, *, validated: bool) -> dict[str, Any]:
        """
        Record an upload Metrika validated (when it was waited for), compact; return the summary.

        Without validation the upload stays unconfirmed: the next run resolves it first.

        :param upload: the upload's name, or None when this try sent another try's parts.
        :param counts: the preparation's columns and counts.
        :param validated: every uploading is listed PASSED.
        """
        from airflow_provider_metrika.sync.changes import write_receipt
        from airflow_provider_metrika.sync.store import compact, load_state

        if upload is not None and validated:
            write_receipt(self.location, upload, "PASSED")
        saved = compact(self.location, self.destination, list(counts.columns), replace=self.full_refresh)
        if saved.conflicts:
            self.log.warning(
                "%s orders were changed by two runs at once: which value Metrika holds is unknown, "
                "so they are sent again next time",
                f"{saved.conflicts:,}",
            )
        if upload is not None and not validated:
            self.log.info(
                "Orders sent are recorded in the sync state as sent, not yet as held: the next run "
                "reads Metrika's validation of them first (set wait_for_validation=True to confirm now)"
            )
        # Every order the state tracks, held or sent and not confirmed yet (one more read of the state).
        orders = load_state(self.location, self.destination).orders
        self.log.info(
            "Sync state %s now tracks %s orders (%s bytes in its state file)",
            saved.location,
            f"{orders:,}",
            f"{saved.bytes:,}",
        )
        return self.summary(counts, saved.location, orders, saved.bytes)

    def summary(self, counts: SyncCounts, location: str, orders: int, size: int | None) -> dict[str, Any]:
        """Return the change counts and the state, as pushed to XCom and to outlet asset events."""
        return {
            "new": counts.new,
            "changed": counts.changed,
            "unchanged": counts.unchanged,
            "sent": counts.sent,
            "state_location": location,
            "state_orders": orders,
            "state_bytes": size,
            "full_refresh": self.full_refresh,
        }
