"""Stream a multipart upload body to a temporary file, hashing every part on the way."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import BodyPartReader, web

from airflow_provider_metrika.emulator.constants import READ_CHUNK_BYTES, UPLOAD_PART_NAME


@dataclass
class PartRecord:
    """What arrived in one multipart part.

    :param name: the form field name.
    :param filename: the file name from ``Content-Disposition``.
    :param content_type: the part's ``Content-Type`` header.
    :param size: content bytes read.
    :param sha256: hex digest of those bytes.
    """

    name: str | None
    filename: str | None
    content_type: str | None
    size: int = 0
    sha256: str = ""

    def to_json(self) -> dict[str, object]:
        """Render the record as JSON."""
        return asdict(self)


@dataclass
class UploadBody:
    """The result of reading an upload body.

    :param file_path: where the content of the first ``file`` part was written, if there was one.
    :param file_part: that part's record.
    :param too_large: the ``file`` part went over the size limit; reading stopped there.
    """

    file_path: Path | None = None
    file_part: PartRecord | None = None
    too_large: bool = False


class NotMultipartError(ValueError):
    """The body is not a readable ``multipart/form-data`` message."""


async def read_upload_body(
    request: web.Request, directory: Path, max_file_bytes: int, parts: list[dict[str, object]]
) -> UploadBody:
    """Read the body part by part without holding it in memory.

    :param request: the upload request.
    :param directory: where to create the file for the ``file`` part.
    :param max_file_bytes: stop reading once the ``file`` part grows past this.
    :param parts: receives one JSON record per part as soon as the part is read, so the request log
        keeps them even when reading fails later.
    :raises NotMultipartError: when the body is not multipart or is malformed.
    """
    if not request.content_type.startswith("multipart/"):
        raise NotMultipartError(f"body must be multipart/form-data, got {request.content_type or 'none'}")
    try:
        reader = await request.multipart()
        body = UploadBody()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                await part.release()
                continue
            record = PartRecord(part.name, part.filename, part.headers.get("Content-Type"))
            if part.name == UPLOAD_PART_NAME and body.file_path is None:
                body.file_path, body.file_part = directory / "upload.csv", record
                body.too_large = not await _copy_part(part, record, body.file_path, max_file_bytes)
            else:
                await _copy_part(part, record, None, None)
            parts.append(record.to_json())
            if body.too_large:
                break
        return body
    except (ValueError, AssertionError) as exc:
        # aiohttp signals a malformed multipart body with ValueError (and an assertion on the type).
        raise NotMultipartError(f"malformed multipart body: {exc}") from exc


async def _copy_part(
    part: BodyPartReader, record: PartRecord, target: Path | None, max_bytes: int | None
) -> bool:
    digest = hashlib.sha256()
    with target.open("wb") if target else _NullWriter() as sink:
        while chunk := await part.read_chunk(READ_CHUNK_BYTES):
            record.size += len(chunk)
            digest.update(chunk)
            if max_bytes is not None and record.size > max_bytes:
                record.sha256 = digest.hexdigest()
                return False
            sink.write(chunk)
    record.sha256 = digest.hexdigest()
    return True


class _NullWriter:
    """A sink for parts the emulator only hashes."""

    def __enter__(self) -> _NullWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def write(self, data: bytes) -> int:
        return len(data)
