"""Write CSV lines into size-limited part files, each with the header, hashing them while writing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa

from airflow_provider_metrika.simple_orders.columns import PART_NAME
from airflow_provider_metrika.simple_orders.csv_text import line_bounds
from airflow_provider_metrika.simple_orders.errors import OrdersInputError
from airflow_provider_metrika.simple_orders.report import OrdersPart


@dataclass
class _OpenPart:
    path: Path
    file: IO[bytes]
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    bytes: int = 0
    rows: int = 0
    rows_without_id: int = 0

    def write(self, data: memoryview) -> None:
        self.file.write(data)
        self.digest.update(data)
        self.bytes += data.nbytes


class PartWriter:
    """Split lines into ``part-00001.csv``, ... of at most ``max_bytes`` bytes each, header included.

    :param directory: where parts are written.
    :param header: the header line, repeated at the top of every part.
    :param max_bytes: size limit of one part.
    """

    def __init__(self, directory: Path, header: bytes, max_bytes: int) -> None:
        self.directory = directory
        self.header = header
        self.max_bytes = max_bytes
        self.parts: list[OrdersPart] = []
        self._open: _OpenPart | None = None

    def _start(self) -> _OpenPart:
        path = self.directory / PART_NAME.format(len(self.parts) + 1)
        part = _OpenPart(path, open(path, "wb"))  # noqa: SIM115 - closed in _finish or discard
        part.write(memoryview(self.header))
        self._open = part
        return part

    def _finish(self) -> None:
        part, self._open = self._open, None
        if part is None:
            return
        part.file.close()
        self.parts.append(
            OrdersPart(part.path, part.rows, part.bytes, part.digest.hexdigest(), part.rows_without_id)
        )

    def _too_long(self, row: int, size: int) -> OrdersInputError:
        return OrdersInputError(
            f"row {row} takes {size} bytes, more than fits in a part of max_part_bytes={self.max_bytes} "
            f"with its {len(self.header)}-byte header"
        )

    def write(self, lines: pa.Array, without_id: np.ndarray, rows: np.ndarray) -> None:
        """Append lines, starting a new part whenever the next line would not fit.

        :param lines: CSV lines, each ending with a line break.
        :param without_id: per line, True when its ``id`` is empty (counted per part).
        :param rows: per line, its 1-based input row number (for the too-long error).
        """
        offsets, data = line_bounds(lines)
        start, count = 0, len(lines)
        while start < count:
            part = self._open or self._start()
            limit = offsets[start] + self.max_bytes - part.bytes
            stop = int(np.searchsorted(offsets, limit, side="right")) - 1
            if stop <= start:
                if part.rows == 0:
                    raise self._too_long(int(rows[start]), int(offsets[start + 1] - offsets[start]))
                self._finish()
                continue
            part.write(data[offsets[start] : offsets[stop]])
            part.rows += stop - start
            part.rows_without_id += int(without_id[start:stop].sum())
            start = stop
            if start < count:
                self._finish()

    def close(self) -> list[OrdersPart]:
        """Close the last part and return all parts written."""
        self._finish()
        return self.parts

    def discard(self) -> None:
        """Delete every part written so far: no partial output is left behind."""
        if self._open is not None:
            self._open.file.close()
            self._open.path.unlink(missing_ok=True)
            self._open = None
        for part in self.parts:
            part.path.unlink(missing_ok=True)
        self.parts = []
