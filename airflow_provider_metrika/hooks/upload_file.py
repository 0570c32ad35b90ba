"""Streaming one file as a multipart upload body: bounded reads, progress, large socket writes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter
from urllib3 import PoolManager

from airflow_provider_metrika.constants import MAX_UPLOAD_BYTES
from airflow_provider_metrika.exceptions import MetrikaFileTooLargeError, MetrikaInvalidArgumentError
from airflow_provider_metrika.progress import ProgressLog

#: Bytes read from the body per socket write: urllib3's default (16 KiB) caps uploads near 150 MB/s.
UPLOAD_BLOCK_SIZE = 1 << 20


class _BoundedReader:
    """
    Read at most ``size`` bytes of a stream, from where it stands.

    ``MultipartEncoder`` copies any object with ``getvalue()`` (``BytesIO``) into memory and sends
    a file from its start; this wrapper has neither trait, so the body streams from the position.
    """

    def __init__(self, stream: IO[bytes], size: int, progress: ProgressLog | None = None) -> None:
        self._stream = stream
        self.len = size
        self._done = 0
        self._progress = progress

    def read(self, length: int = -1) -> bytes:
        """Read up to ``length`` bytes (all that remain when negative)."""
        if length < 0 or length > self.len:
            length = self.len
        data = self._stream.read(length)
        self.len -= len(data)
        self._done += len(data)
        if self._progress is not None:
            self._progress(self._done)
        return data


class UploadFile:
    """
    A CSV to upload: a path or a seekable binary file object, re-readable for each try.

    :param file: the path or file object.
    :param filename: the name sent in the multipart part (default: the file's own).
    :param expected_rows: its data rows, for messages.
    :param resend_safe: sending it again after a lost answer is allowed (ids everywhere and SAVE /
        UPDATE, or the caller forces it).
    """

    def __init__(
        self,
        file: str | os.PathLike[str] | IO[bytes],
        filename: str | None,
        expected_rows: int | None = None,
        resend_safe: bool = False,
    ) -> None:
        self.expected_rows = expected_rows
        self.resend_safe = resend_safe
        if isinstance(file, (str, os.PathLike)):
            path = Path(file)
            if not path.is_file():
                raise MetrikaInvalidArgumentError(f"file {str(path)!r} does not exist or is not a file")
            self.path: Path | None = path
            self.stream: IO[bytes] | None = None
            self.size = path.stat().st_size
            self.name = filename or path.name
            self.start = 0
        else:
            if not hasattr(file, "read") or not hasattr(file, "seek") or not file.seekable():
                raise MetrikaInvalidArgumentError(
                    "file must be a path or a seekable binary file object (open(path, 'rb'))"
                )
            self.path = None
            self.stream = file
            self.start = file.tell()
            self.size = file.seek(0, os.SEEK_END) - self.start
            file.seek(self.start)
            self.name = filename or Path(str(getattr(file, "name", "") or "data.csv")).name
        if self.size > MAX_UPLOAD_BYTES:
            raise MetrikaFileTooLargeError(
                f"{self.name} is {self.size:,} bytes; Metrika accepts at most {MAX_UPLOAD_BYTES:,} bytes "
                "per upload. Split it into parts (prepare_simple_orders does this with max_part_bytes)."
            )

    def sha256(self) -> str:
        """Return the hex SHA-256 of the file's bytes, read streamed."""
        digest = hashlib.sha256()
        with self.open() as reader:
            while block := reader.read(UPLOAD_BLOCK_SIZE):
                digest.update(block)
        return digest.hexdigest()

    @contextmanager
    def open(self, progress: ProgressLog | None = None) -> Iterator[_BoundedReader]:
        """Yield a reader of the file's bytes from its start, for one try."""
        if self.path is not None:
            with self.path.open("rb") as stream:
                yield _BoundedReader(stream, self.size, progress)
        else:
            assert self.stream is not None
            self.stream.seek(self.start)
            yield _BoundedReader(self.stream, self.size, progress)


class KeepAliveLargeBlockAdapter(TCPKeepAliveAdapter):
    """TCP keep-alive (long uploads pass idle NATs) with large socket writes (fast uploads)."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        self.poolmanager = PoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            socket_options=self.socket_options,
            blocksize=UPLOAD_BLOCK_SIZE,
        )
