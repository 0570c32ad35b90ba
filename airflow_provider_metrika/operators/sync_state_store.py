"""Where the upload operator keeps sync states: one Parquet file per destination in object storage.

A state is replaced whole: the new one is written under a temporary name next to it and renamed over
it, so a reader sees the old file or the new one, never half of one (a local rename is atomic, and
an object store shows an object only once it is complete).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_metrika._compat import ObjectStoragePath
from airflow_provider_metrika.operators.order_sources import copy_to_storage, storage_path

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from airflow_provider_metrika.simple_orders.sync_state import Destination, SyncState

#: Suffix of the accepted orders a deferred task keeps until Metrika validated them.
PENDING_SUFFIX = ".pending.arrow"


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


def load_state(location: ObjectStoragePath, destination: Destination) -> SyncState:
    """Read the destination's state; an empty one when there is none yet.

    :param location: the state file.
    :param destination: where this run sends orders (a state for another is refused).
    """
    from airflow_provider_metrika.simple_orders.sync_state import SyncState

    if not location.exists():
        empty = SyncState.empty(destination)
        empty.location = str(location)
        return empty
    with location.open("rb") as source:
        return SyncState.read(source, destination, str(location))


def pending_location(location: ObjectStoragePath, owner: str) -> ObjectStoragePath:
    """Return where a task instance keeps its accepted orders while it waits deferred.

    :param location: the state file.
    :param owner: the task instance's identity (DAG, run, task, map index).
    """
    tag = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return location.parent / f".{location.name}.{tag}{PENDING_SUFFIX}"


def keep_pending(sent: Path, pending: ObjectStoragePath) -> None:
    """Copy the accepted orders next to the state: a deferred task resumes in another process.

    :param sent: the local file of keys and fingerprints sent.
    :param pending: where to keep the copy (see :func:`pending_location`).
    """
    pending.parent.mkdir(parents=True, exist_ok=True)
    copy_to_storage(sent, pending)


def commit_state(
    location: ObjectStoragePath,
    destination: Destination,
    sent: Path | ObjectStoragePath,
    columns: list[str],
    *,
    rebuild: bool,
) -> SavedState:
    """Record accepted orders in the state, re-read now so that a concurrent run's commit is kept.

    :param location: the state file.
    :param destination: where the orders were sent.
    :param sent: the keys and fingerprints sent and accepted (local, or a pending copy).
    :param columns: the columns the rows were written with.
    :param rebuild: start from an empty state (a full refresh) instead of the stored one.
    """
    from airflow_provider_metrika.simple_orders.sync_state import SyncState, read_sent

    current = SyncState.empty(destination) if rebuild else load_state(location, destination)

    def batches() -> Iterator[pa.RecordBatch]:
        with sent.open("rb") as source:
            yield from read_sent(source)

    merged = current.apply(batches)
    temporary = location.parent / f".{location.name}.{uuid.uuid4().hex[:12]}.tmp"
    location.parent.mkdir(parents=True, exist_ok=True)
    try:
        with temporary.open("wb") as out:
            orders = merged.write(out, columns)
        size = temporary.stat().st_size
        temporary.rename(location)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return SavedState(str(location), orders, size, merged.conflicts)
