"""Where the upload operator keeps sync states: one Parquet file per destination in object storage.

A state is the state file plus the change files recorded since (see
:mod:`~airflow_provider_metrika.sync.changes`). The state file is replaced whole by a
compaction: the new one is written under a temporary name next to it and renamed over it, so a
reader sees the old file or the new one, never half of one; change files are never overwritten.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import ObjectStoragePath
from airflow_provider_metrika.storage import storage_path

if TYPE_CHECKING:
    from airflow_provider_metrika.simple_orders.sync_state import Destination, MergeResult, SyncState
    from airflow_provider_metrika.sync.changes import Finder, Upload


@dataclass(frozen=True)
class SavedState:
    """What a commit wrote.

    :param location: the state file.
    :param orders: orders it tracks.
    :param bytes: its size.
    :param conflicts: keys dropped because another run changed them meanwhile (sent again next time).
    """

    location: str
    orders: int
    bytes: int
    conflicts: int


def state_location(base: str, destination: Destination) -> ObjectStoragePath:
    """Return the state file of a destination under ``base`` (a directory or bucket prefix).

    :param base: what the user passed as ``sync_state``.
    :param destination: the API host and counter.
    """
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", destination.api)
    return storage_path(base) / f"metrika-simple-orders-{host}-{destination.counter}.parquet"


def load_state(
    location: ObjectStoragePath, destination: Destination, find: Finder | None = None, over: str | None = None
) -> SyncState:
    """Read what the destination holds: the state file, then every upload recorded since, in order.

    Uploads accepted but not confirmed are first resolved with ``find`` (Metrika's list of
    uploadings): PASSED ones count as held, FAILED ones as never sent; the rest, and uploads never
    answered, mark their orders as unknown, so they are sent again. An empty state when there is none.

    :param location: the state file.
    :param destination: where this run sends orders (a state for another is refused).
    :param find: one search of uploadings by id; None leaves unconfirmed uploads unknown.
    :param over: the reading task instance: its earlier tries' unconfirmed uploads are over, not in
        flight (see :func:`~airflow_provider_metrika.sync.changes.settle_own`).
    """
    from airflow_provider_metrika.sync.changes import list_uploads, resolve, settle_own

    state = _read_base(location, destination)
    uploads = list_uploads(location, state.folded)
    resolved = resolve(location, uploads, find) if find is not None else {}
    if over is not None:
        settle_own(location, uploads, over)
    counts = dict.fromkeys(("PASSED", "FAILED", "UNKNOWN", "PENDING"), 0)
    for upload in uploads:
        status = upload.final_status(for_compaction=False)
        assert status is not None
        state, rows = _fold(state, upload, status)
        counts[status] += rows
    state.resolution = Resolution(resolved, counts)
    return state


@dataclass(frozen=True)
class Resolution:
    """What reading a state found of uploads since its file was written.

    :param resolved: uploads whose fate Metrika told now, per status.
    :param rows: orders of those uploads per status folded (PASSED: held; FAILED: as never sent;
        UNKNOWN, and PENDING for uploads still in flight: sent again).
    """

    resolved: dict[str, int]
    rows: dict[str, int]


def _read_base(location: ObjectStoragePath, destination: Destination) -> SyncState:
    from airflow_provider_metrika.simple_orders.sync_state import SyncState

    if not location.exists():
        empty = SyncState.empty(destination)
        empty.location = str(location)
        return empty
    with location.open("rb") as source:
        return SyncState.read(source, destination, str(location))


def _fold(state: SyncState, upload: Upload, status: str) -> tuple[SyncState, int]:
    """Fold one upload into the state in memory; return it and the upload's orders."""
    from airflow_provider_metrika.simple_orders.sync_fold import materialise

    about = upload.metadata()
    if state.columns is None and about.get("columns"):
        state.columns = tuple(about["columns"])
    merged = _merge(state, upload, status, about)
    rows = sum(batch.num_rows for batch in upload.batches())
    return materialise(merged), rows


def _merge(state: SyncState, upload: Upload, status: str, about: dict[str, Any]) -> MergeResult:
    """Fold one upload's orders into the state, as its rows file says it was made (full refresh or not)."""
    from airflow_provider_metrika.simple_orders.sync_fold import fold

    rebuild, compared = bool(about.get("rebuild")), bool(about.get("compared"))
    return fold(state, upload.batches, status, rebuild=rebuild, compared=compared)


def compact(
    location: ObjectStoragePath, destination: Destination, columns: list[str], *, replace: bool = False
) -> SavedState:
    """Fold the leading uploads whose fate is known into a new state file; remove old folded files.

    Only the uploads and receipts read here are folded and named in the new file; of those, files
    older than the grace period are removed. A concurrent run's new files are left for the next.

    :param location: the state file.
    :param destination: where the orders were sent.
    :param columns: the columns the rows were written with.
    :param replace: a full refresh asked for: a state file that cannot be used is replaced.
    """
    import numpy as np

    from airflow_provider_metrika.simple_orders.sync_fold import materialise
    from airflow_provider_metrika.simple_orders.sync_state import MergeResult, SyncState, SyncStateError
    from airflow_provider_metrika.sync.changes import changes_folder, list_uploads

    try:
        state = _read_base(location, destination)
    except SyncStateError:
        if not replace:
            raise
        state = SyncState.empty(destination)
        state.location = str(location)
    uploads = list_uploads(location, state.folded)
    ready: list[tuple[Upload, str]] = []
    for upload in uploads:
        status = upload.final_status(for_compaction=True)
        if status is None:
            break
        ready.append((upload, status))
    if not ready and location.exists():
        return SavedState(str(location), state.orders, location.stat().st_size, 0)
    base_folded = state.folded
    conflicts = 0
    merged = MergeResult(state, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint64), 0)
    for upload, status in ready:
        state = materialise(merged)
        merged = _merge(state, upload, status, upload.metadata())
        conflicts += merged.conflicts
    folder = changes_folder(location)
    existing = {path.name for path in folder.iterdir()} if folder.exists() else set()
    folded = tuple(
        sorted(
            {name for name in base_folded if name in existing}
            | {name for upload, _ in ready for name in (upload.name, *upload.receipts)}
        )
    )
    temporary = location.parent / f".{location.name}.{uuid.uuid4().hex[:12]}.tmp"
    location.parent.mkdir(parents=True, exist_ok=True)
    try:
        with temporary.open("wb") as out:
            orders = merged.write(out, columns, folded)
        size = temporary.stat().st_size
        temporary.rename(location)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _remove_old(folder, folded)
    return SavedState(str(location), orders, size, conflicts)


def _remove_old(folder: ObjectStoragePath, folded: tuple[str, ...]) -> None:
    """Remove folded change files older than the grace period (a slower compaction may still need them)."""
    from airflow_provider_metrika.constants import SYNC_CHANGES_GRACE_SECONDS
    from airflow_provider_metrika.sync.changes import _age_seconds

    for name in folded:
        if _age_seconds(name) >= SYNC_CHANGES_GRACE_SECONDS:
            (folder / name).unlink(missing_ok=True)


def commit_state(
    location: ObjectStoragePath,
    destination: Destination,
    sent: Path,
    columns: list[str],
    *,
    rebuild: bool,
) -> SavedState:
    """Record orders Metrika is known to hold (validated), and compact the state.

    For a caller that sent and confirmed the orders itself; the operator records each upload
    before sending instead (:func:`~airflow_provider_metrika.sync.changes.write_rows`).

    :param location: the state file.
    :param destination: where the orders were sent.
    :param sent: the local file of keys and fingerprints sent and validated.
    :param columns: the columns the rows were written with.
    :param rebuild: a full refresh: the orders replace every earlier value.
    """
    from airflow_provider_metrika.sync.changes import write_receipt, write_rows

    upload = write_rows(location, sent, columns, rebuild=rebuild)
    write_receipt(location, upload, "PASSED")
    return compact(location, destination, columns)
