"""The change files of a sync state: what each upload sent, and what became of it, never overwritten.

Next to the state file, a folder ``<state>.changes/`` holds, per upload (one try of one task):

- ``<time>-<tag>.rows.arrow``: the orders about to be sent (key, fingerprint, and the value the
  run compared with), written *before* the first part is sent;
- ``<time>-<tag>.receipt.json``: what became of an upload: ``ACCEPTED`` (Metrika answered, with
  the uploading ids), then ``PASSED``, ``FAILED`` or ``UNKNOWN`` once known.

Every file has a name of its own, so concurrent runs never overwrite each other's records on any
store, without a lock. A reader folds the state file and then the uploads in the order of their
names; a compaction folds the leading uploads whose fate is known into a new state file, which
names the files it folded, and removes them only once they are older than
:data:`~airflow_provider_metrika.constants.SYNC_CHANGES_GRACE_SECONDS`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.constants import SYNC_CHANGES_GRACE_SECONDS

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_metrika._compat import ObjectStoragePath

#: Suffixes of the two kinds of change files.
ROWS_SUFFIX = ".rows.arrow"
RECEIPT_SUFFIX = ".receipt.json"
#: Receipt statuses besides the final ones of :mod:`~airflow_provider_metrika.simple_orders.sync_fold`.
ACCEPTED = "ACCEPTED"
#: Which receipt wins when an upload has several: Metrika's final word over a guess.
_RANK = {ACCEPTED: 1, "UNKNOWN": 2, "FAILED": 3, "PASSED": 3}
#: Looks up uploadings: their ids and how far back to search -> the uploadings found, by id.
Finder = Callable[[list[str], "str | None"], Mapping[str, dict[str, Any]]]


def changes_folder(location: ObjectStoragePath) -> ObjectStoragePath:
    """Return the folder of a state's change files."""
    return location.parent / f"{location.name}.changes"


def _stamp() -> str:
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def _age_seconds(name: str) -> float:
    try:
        return time.time() - int(name.split("-", 1)[0]) / 1e9
    except ValueError:
        return 0.0


@dataclass
class Upload:
    """One upload's sent orders and what became of it.

    :param name: its rows file's name (its identity in receipts).
    :param path: the rows file.
    :param status: the best receipt's status, or None when none was written.
    :param uploadings: uploading ids and their ``datetime``, from an ``ACCEPTED`` receipt.
    :param receipts: the receipt files naming it.
    """

    name: str
    path: ObjectStoragePath
    status: str | None = None
    uploadings: dict[str, str | None] = field(default_factory=dict)
    receipts: list[str] = field(default_factory=list)

    def final_status(self, *, for_compaction: bool) -> str | None:
        """Return PASSED, FAILED or UNKNOWN to fold with, or, for an upload that may still be in flight,
        None (a compaction waits for it) or PENDING (a reader folds it as such)."""
        if self.status in ("PASSED", "FAILED", "UNKNOWN"):
            return self.status
        if _age_seconds(self.name) < SYNC_CHANGES_GRACE_SECONDS:
            return None if for_compaction else "PENDING"  # its run may still be sending or waiting
        return "UNKNOWN"

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield its sent orders."""
        from airflow_provider_metrika.simple_orders.sync_state import read_sent

        with self.path.open("rb") as source:
            yield from read_sent(source)

    def metadata(self) -> dict[str, Any]:
        """Return what the rows file says about the upload (columns, full refresh)."""
        import pyarrow.ipc as ipc

        with self.path.open("rb") as source, ipc.open_stream(source) as reader:
            raw = (reader.schema.metadata or {}).get(b"metrika_sync_upload")
        return json.loads(raw) if raw else {}


def list_uploads(location: ObjectStoragePath, skip: tuple[str, ...] = ()) -> list[Upload]:
    """Return the uploads recorded next to a state, oldest first, with their receipts read.

    :param location: the state file.
    :param skip: change files already folded into the state file.
    """
    folder = changes_folder(location)
    if not folder.exists():
        return []
    names = sorted(path.name for path in folder.iterdir())
    uploads = {
        name: Upload(name, folder / name) for name in names if name.endswith(ROWS_SUFFIX) and name not in skip
    }
    for name in names:
        if not name.endswith(RECEIPT_SUFFIX) or name in skip:
            continue
        try:
            with (folder / name).open("rb") as source:
                receipt = json.load(source)
        except (OSError, ValueError):
            continue  # a receipt being written elsewhere, or unreadable: its upload stays unconfirmed
        upload = uploads.get(str(receipt.get("upload")))
        if upload is None:
            continue
        upload.receipts.append(name)
        status = str(receipt.get("status"))
        if receipt.get("uploadings"):
            upload.uploadings.update(receipt["uploadings"])
        if _RANK.get(status, 0) > _RANK.get(upload.status or "", 0):
            upload.status = status
    return list(uploads.values())


def write_rows(
    location: ObjectStoragePath,
    sent: Path,
    columns: list[str],
    *,
    rebuild: bool,
    compared: bool = False,
    owner: str | None = None,
) -> str:
    """Record the orders about to be sent, before the first part goes; return the upload's name.

    :param location: the state file.
    :param sent: the local file of keys, fingerprints and previous values (see ``SentOrders``).
    :param columns: the columns the rows are written with.
    :param rebuild: a full refresh: once confirmed, it drops every order it did not send.
    :param compared: a full refresh's previous values came from the state (see ``sync_fold.fold``).
    :param owner: the task instance that sends them (a later try of it knows this upload is over).
    """
    import pyarrow.ipc as ipc

    from airflow_provider_metrika.simple_orders.sync_state import SENT_SCHEMA, read_sent

    folder = changes_folder(location)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{_stamp()}{ROWS_SUFFIX}"
    about = json.dumps(
        {"columns": list(columns), "rebuild": rebuild, "compared": compared, "owner": owner}
    ).encode()
    schema = SENT_SCHEMA.with_metadata({b"metrika_sync_upload": about})
    target = folder / name
    try:
        with target.open("wb") as out, ipc.new_stream(out, schema) as writer:
            for batch in read_sent(sent):
                writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return name


def write_receipt(
    location: ObjectStoragePath,
    upload: str,
    status: str,
    uploadings: Mapping[str, str | None] | None = None,
) -> str:
    """Record what became of an upload, in a file of its own; return its name.

    :param location: the state file.
    :param upload: the upload's name (its rows file).
    :param status: ``ACCEPTED``, ``PASSED``, ``FAILED`` or ``UNKNOWN``.
    :param uploadings: with ``ACCEPTED``, the uploading ids and their ``datetime``.
    """
    folder = changes_folder(location)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{_stamp()}{RECEIPT_SUFFIX}"
    body = {"upload": upload, "status": status, "uploadings": dict(uploadings or {})}
    target = folder / name
    with target.open("wb") as out:
        out.write(json.dumps(body).encode())
    return name


def settle_own(location: ObjectStoragePath, uploads: list[Upload], owner: str) -> int:
    """Record as UNKNOWN the uploads an earlier try of ``owner`` left in flight; return how many.

    A task instance's tries run one after another, so when a try reads the state, no earlier try
    of it sends anything any more: what it left unconfirmed is over (applied or not, unknown), not
    in flight, and a value this try compares with it may be taken as held once this try's upload
    is confirmed.

    :param location: the state file.
    :param uploads: the uploads as listed, resolved with Metrika first (their statuses are updated).
    :param owner: the reading task instance's identity.
    """
    settled = 0
    for upload in uploads:
        if upload.status in ("PASSED", "FAILED", "UNKNOWN") or upload.metadata().get("owner") != owner:
            continue
        upload.receipts.append(write_receipt(location, upload.name, "UNKNOWN"))
        upload.status = "UNKNOWN"
        settled += 1
    return settled


def resolve(location: ObjectStoragePath, uploads: list[Upload], find: Finder) -> dict[str, int]:
    """Ask Metrika what became of accepted, unconfirmed uploads; record what it says in receipts.

    All PASSED: Metrika holds the rows. All FAILED: nothing was stored. Partly FAILED: unknown.
    Still validating or not listed: left as is (their orders are sent again meanwhile).

    :param location: the state file.
    :param uploads: the uploads as listed (their statuses are updated).
    :param find: one search of uploadings by id.
    :return: uploads per status found, e.g. ``{"PASSED": 2}``.
    """
    from airflow_provider_metrika.waiting.uploadings import validation_status

    waiting = [u for u in uploads if u.status == ACCEPTED and u.uploadings]
    ids = [i for u in waiting for i in u.uploadings]
    if not ids:
        return {}
    stamps = [s for u in waiting for s in u.uploadings.values()]
    not_before = None if None in stamps else min(s for s in stamps if s is not None)
    found = find(ids, not_before)
    counts: dict[str, int] = {}
    for upload in waiting:
        statuses = {validation_status(found.get(i)) for i in upload.uploadings}
        if statuses == {"PASSED"}:
            status = "PASSED"
        elif statuses == {"FAILED"}:
            status = "FAILED"
        elif "FAILED" in statuses and statuses <= {"PASSED", "FAILED"}:
            status = "UNKNOWN"
        else:
            continue
        upload.receipts.append(write_receipt(location, upload.name, status))
        upload.status = status
        counts[status] = counts.get(status, 0) + 1
    return counts
