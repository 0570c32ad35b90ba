"""
The archive of what was sent: the exact parts and a manifest, at a user-given place.

With ``archive_path=`` the operator copies every part there before its first POST and records the
copy in the delivery manifest: a retry whose source moved sends these bytes, not new ones. When the
upload ends it writes ``manifest.json`` beside them (counter, merge mode, uploads, statuses, rows,
content hashes, the task instance), so "what did we send to counter X on 1 December?" has an answer.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.delivery.manifest import Manifest, PlannedPart
from airflow_provider_metrika.exceptions import MetrikaStagedPartMissingError
from airflow_provider_metrika.storage import copy_to_storage, storage_path

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import ObjectStoragePath

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def archive_folder(base: str, dag_id: str, run_id: str, task_id: str, map_index: int) -> ObjectStoragePath:
    """Return the folder of one task instance's upload under ``base``."""
    parts = [dag_id, run_id, task_id if map_index < 0 else f"{task_id}-{map_index}"]
    folder = storage_path(base)
    for name in parts:
        folder = folder / (_UNSAFE.sub("_", name).strip("._") or "_")
    return folder


def stage_parts(
    folder: ObjectStoragePath, parts: Sequence[PlannedPart], files: dict[int, Path]
) -> list[PlannedPart]:
    """Copy each part to ``folder`` (creating it); return the parts with their staged location."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = []
    for part in parts:
        target = folder / f"part-{part.position:05d}-{part.sha256[:12]}.csv"
        copy_to_storage(files[part.position], target)
        staged.append(replace(part, staged=str(target)))
    return staged


def part_opener(files: Mapping[int, tuple[Path, str]], workdir: Path, resolve_hint: str = "") -> Any:
    """
    Return an opener that yields this attempt's file of a part, or a local copy of the staged one.

    :param files: this attempt's part files and their SHA-256, by position.
    :param workdir: where staged copies are brought back to.
    :param resolve_hint: the commands that resolve the upload, for the message of a missing copy.
    :raises MetrikaStagedPartMissingError: when a staged copy that must be sent cannot be read.
    """

    @contextmanager
    def opener(part: PlannedPart) -> Iterator[Path]:
        local = files.get(part.position)
        if local is not None and local[1] == part.sha256:
            yield local[0]
            return
        copy = workdir / f"staged-{part.position:05d}.csv"
        try:
            if part.staged is None:
                raise FileNotFoundError(part.position)
            with storage_path(part.staged).open("rb") as source, copy.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        except FileNotFoundError:
            raise MetrikaStagedPartMissingError(_missing_message(part, resolve_hint)) from None
        yield copy

    return opener


def _missing_message(part: PlannedPart, resolve_hint: str) -> str:
    where = part.staged or "(no staged copy was recorded)"
    folder = where.rsplit("/", 1)[0] if part.staged else where
    return (
        f"part {part.position} must be sent from the first attempt's staged copy (the source changed "
        f"since, and sending the current source is not harmless), but {where} cannot be read. "
        f"archive_path= (here {folder}, where the delivery manifest's parts are kept) must be a place "
        "every worker reaches (object storage, not a worker's local disk) and must outlive the task's "
        "retries (no lifecycle rule that deletes it sooner). Nothing more was sent. To proceed: put the "
        f"part back at {where} and retry; or restore the source as the first attempt read it and retry; "
        f"or give up on this upload after checking the counter: {resolve_hint or 'forget its records'}."
    )


def write_manifest(
    folder: ObjectStoragePath, manifest: Manifest, uploads: list[dict[str, Any]], about: dict[str, Any]
) -> str:
    """Write ``manifest.json`` of the finished upload beside its parts; return its location."""
    document = {
        **about,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parts": [
            {
                "position": part.position,
                "file": part.staged,
                "rows": part.rows,
                "rows_without_id": part.rows_without_id,
                "bytes": part.bytes,
                "sha256": part.sha256,
                "uploading_id": upload.get("uploading_id"),
                "api_validation_status": upload.get("api_validation_status"),
            }
            for part, upload in zip(manifest.parts, uploads, strict=False)
        ],
    }
    target = folder / "manifest.json"
    with target.open("w") as out:
        json.dump(document, out, indent=2, sort_keys=True)
    return str(target)
