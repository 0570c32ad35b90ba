"""Stream a CSV file or binary stream as Arrow record batches of raw bytes, never the whole file at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pcsv

from airflow_provider_metrika.simple_orders.columns import (
    CSV_BATCH_BYTES,
    CSV_BLOCK_BYTES,
    DEFAULT_BATCH_ROWS,
)
from airflow_provider_metrika.simple_orders.errors import OrdersInputError

_BOM = b"\xef\xbb\xbf"
#: How far to look for the end of the header line before giving up.
_MAX_HEADER_BYTES = 1 << 20
_OTHER_DELIMITERS = {"\t": "TAB", "|": "|"}


class _PrefixedStream(io.RawIOBase):
    """A non-seekable stream with bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head.nbytes:
            size = min(len(buffer), self._head.nbytes)
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class _InvalidRecords:
    """Records whose field count differs from the header, noted while Arrow parses."""

    found: list[tuple[int, int, str]] = field(default_factory=list)

    def __call__(self, row: pcsv.InvalidRow) -> str:
        self.found.append((row.expected_columns, row.actual_columns, row.text))
        return "skip"


def arrow_reason(exc: Exception) -> str:
    """Return an Arrow parse error's text without the row content some of its messages quote.

    :param exc: the error, e.g. ``CSV parse error: Expected 3 columns, got 2: a@b.c,79...``.
    """
    head, sep, rest = str(exc).partition(": ")
    reason = rest.partition(": ")[0] if sep else head
    return f"{head}: {reason}" if sep else reason


def _combined(batches: Iterable[pa.RecordBatch], max_bytes: int, max_rows: int) -> Iterator[pa.RecordBatch]:
    """Concatenate small parsed blocks into batches of about ``max_bytes`` or ``max_rows``."""
    held: list[pa.RecordBatch] = []
    size = rows = 0
    for batch in batches:
        held.append(batch)
        size += batch.nbytes
        rows += batch.num_rows
        if size >= max_bytes or rows >= max_rows:
            yield pa.concat_batches(held) if len(held) > 1 else held[0]
            held, size, rows = [], 0, 0
    if held:
        yield pa.concat_batches(held) if len(held) > 1 else held[0]


def _has_line_end(data: bytes) -> bool:
    return b"\n" in data or b"\r" in data  # CR alone ends lines in old Mac exports: Arrow reads those too


def _read_head(stream: IO[bytes]) -> bytes:
    head = b""
    while not _has_line_end(head):
        chunk = stream.read(64 << 10)
        if not chunk:
            break
        head += chunk
        if len(head) > _MAX_HEADER_BYTES and not _has_line_end(head):
            raise OrdersInputError(
                f"the CSV header line is longer than {_MAX_HEADER_BYTES} bytes: is this CSV?"
            )
    return head


def _detect_delimiter(header: str) -> str:
    commas, semicolons = header.count(","), header.count(";")
    if commas == 0 and semicolons == 0:
        for char, name in _OTHER_DELIMITERS.items():
            if char in header:
                raise OrdersInputError(
                    f"the CSV header {header[:200]!r} seems delimited by {name}; "
                    "input CSV must be delimited by commas or semicolons"
                )
    return ";" if semicolons > commas else ","


def parse_header(head: bytes) -> tuple[list[str], str]:
    """Return the column names and the delimiter (``,`` or ``;``) read from the start of a CSV file.

    :param head: the first bytes of the file, at least the whole header line.
    """
    if not head.strip(b"\r\n\t " + _BOM):
        raise OrdersInputError(
            "the CSV input is empty: it must start with a header line naming the columns "
            "(e.g. id,create_date_time,emails)"
        )
    line = head.removeprefix(_BOM).replace(b"\r", b"\n").split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OrdersInputError(f"the CSV header line is not valid UTF-8: {line[:200]!r}") from exc
    delimiter = _detect_delimiter(text)
    names = next(csv.reader([text], delimiter=delimiter))
    return [name.strip() for name in names], delimiter


def _open_stream(source: str | Path | IO[bytes]) -> tuple[IO[bytes], bytes, int | None]:
    """Return a stream positioned at the start, the head bytes, and the start offset if it can be re-read."""
    if isinstance(source, str | Path):
        stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by the batch iterator
        head = _read_head(stream)
        stream.seek(0)
        return stream, head, 0
    if source.seekable():
        start = source.tell()
        head = _read_head(source)
        source.seek(start)
        return source, head, start
    head = _read_head(source)
    return io.BufferedReader(_PrefixedStream(head, source)), head, None


def _record_number(
    source: str | Path | IO[bytes], start: int, delimiter: str, wrong: Callable[[list[str]], bool]
) -> int | None:
    """Find the first 1-based data row that is ``wrong``, re-reading the input with Python's csv.

    A field over the csv module's size limit (128 KiB) stops the scan at its row, which is returned.
    """
    if isinstance(source, str | Path):
        stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
    elif source.seekable():
        source.seek(start)
        stream = source
    else:
        return None
    number = 0
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        records = (record for record in csv.reader(text, delimiter=delimiter) if record)
        for number, record in enumerate(records):
            if number and wrong(record):
                return number
    except csv.Error:
        return number + 1
    finally:
        if isinstance(source, str | Path):
            stream.close()
    return None


@dataclass
class CsvSource:
    """A CSV input opened for streaming: column names, delimiter, and the batches."""

    source: str | Path | IO[bytes]
    names: list[str]
    delimiter: str
    stream: IO[bytes]
    start: int | None
    header_only: bool = False
    block_bytes: int = CSV_BLOCK_BYTES
    batch_bytes: int = CSV_BATCH_BYTES
    batch_rows: int = DEFAULT_BATCH_ROWS

    def _find_row(self, wrong: Callable[[list[str]], bool]) -> str:
        number = None
        if self.start is not None:
            number = _record_number(self.source, self.start, self.delimiter, wrong)
        return f"row {number}" if number is not None else "a row"

    def _structure_error(self, found: tuple[int, int, str]) -> OrdersInputError:
        expected, actual, _ = found  # the row's text holds customer data: never shown
        where = self._find_row(lambda record: len(record) != expected)
        return OrdersInputError(
            f"CSV {where} has {actual} fields where the header has {expected} (its values are not "
            f"shown: they may hold customer data); check the quoting (quote values holding "
            f"{self.delimiter!r}, double inner quotes) and the delimiter"
        )

    def _parse_error(self, exc: pa.ArrowInvalid) -> OrdersInputError:
        if "straddling" in str(exc) or "block size" in str(exc):
            limit = self.block_bytes
            where = self._find_row(lambda record: sum(map(len, record)) + len(record) > limit)
            return OrdersInputError(
                f"CSV {where} is longer than {limit >> 20} MiB, the most one row may hold: a quote "
                "that opens a value and is never closed makes the rest of the file one value, or a "
                f"cell holds a whole document; close the quote (values holding {self.delimiter!r} or "
                'a line break are quoted, inner quotes doubled: "a ""b"" c") or shorten the cell'
            )
        return OrdersInputError(f"the CSV input cannot be parsed: {arrow_reason(exc)}")

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield record batches with every column as ``binary``: decoding and typing happen later."""
        invalid = _InvalidRecords()
        try:
            if self.header_only:
                return
            reader = pcsv.open_csv(
                self.stream,
                # Our names, not Arrow's: they are trimmed, so " emails" in a header still means emails.
                read_options=pcsv.ReadOptions(
                    block_size=self.block_bytes, column_names=self.names, skip_rows=1
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=invalid
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.binary() for name in self.names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in _combined(reader, self.batch_bytes, self.batch_rows):
                if invalid.found:
                    raise self._structure_error(invalid.found[0])
                yield batch
            if invalid.found:
                raise self._structure_error(invalid.found[0])
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return  # a header without a line break after it: no rows
            raise self._parse_error(exc) from None
        finally:
            self.close()

    def close(self) -> None:
        """Close the file if it was opened here (a caller's stream stays open)."""
        if isinstance(self.source, str | Path):
            self.stream.close()


def open_csv_source(source: str | Path | IO[bytes], batch_rows: int = DEFAULT_BATCH_ROWS) -> CsvSource:
    """Read the header of a CSV input and prepare to stream its rows.

    :param source: a path, or a binary file-like object positioned at the header.
    :param batch_rows: most rows per batch.
    """
    stream, head, start = _open_stream(source)
    try:
        names, delimiter = parse_header(head)
    except Exception:
        if isinstance(source, str | Path):
            stream.close()
        raise
    header_only = not _has_line_end(head)  # the head runs to the first line break or to the input's end
    return CsvSource(source, names, delimiter, stream, start, header_only, batch_rows=batch_rows)
