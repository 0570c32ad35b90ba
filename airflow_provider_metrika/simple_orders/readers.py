"""Turn any supported input into one stream of Arrow record batches with a known list of columns."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa

from airflow_provider_metrika.simple_orders.csv_reader import open_csv_source
from airflow_provider_metrika.simple_orders.errors import OrdersInputError

OrdersData = pd.DataFrame | pa.Table | pa.RecordBatch | str | Path | IO[bytes] | Iterable[Any]


@dataclass
class OrdersSource:
    """Column names known before the first row, and the batches (original column names, any types).

    :param names: input column names; empty when the input has no columns at all (an empty iterable).
    :param batches: the record batches, each with exactly ``names`` as columns.
    :param from_csv: True when columns are raw bytes that still need UTF-8 decoding.
    :param close: releases what opening took (a file opened from a path), read or not.
    :param delimiter: the CSV input's field delimiter (``,`` or ``;``); None for other inputs.
    """

    names: list[str]
    batches: Iterator[pa.RecordBatch]
    from_csv: bool = False
    close: Callable[[], None] = lambda: None
    delimiter: str | None = None


def _python_text(value: object) -> str | None:
    """Render one Python cell as text when a column mixes types Arrow cannot put in one array."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value if item is not None)
    return str(value)


def series_to_array(series: pd.Series) -> pa.Array:
    """Convert one pandas column to Arrow, falling back to text for mixed-type object columns.

    :param series: the column.
    """
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return _as_text(series)
    if pa.types.is_date(array.type) and any(isinstance(value, dt.datetime) for value in series.tolist()):
        return _as_text(series)  # Arrow would read datetimes next to dates as dates, dropping their time
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _as_text(series: pd.Series) -> pa.Array:
    return pa.array([_python_text(value) for value in series.tolist()], pa.string())


def frame_to_batch(frame: pd.DataFrame) -> pa.RecordBatch:
    """Convert a DataFrame (its index ignored) to one record batch.

    :param frame: the rows.
    """
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise OrdersInputError(f"the input has repeated column names: {', '.join(repeated)}")
    arrays = [series_to_array(frame.iloc[:, index]) for index in range(frame.shape[1])]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _frame_batches(frame: pd.DataFrame, batch_rows: int) -> Iterator[pa.RecordBatch]:
    for start in range(0, len(frame), batch_rows):
        yield frame_to_batch(frame.iloc[start : start + batch_rows])


def _table_batches(table: pa.Table | pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    yield from (batch for batch in table.to_batches(max_chunksize=batch_rows) if batch.num_rows)


def _item_batches(item: object, batch_rows: int) -> Iterator[pa.RecordBatch]:
    if isinstance(item, pd.DataFrame):
        return _frame_batches(item, batch_rows)
    if isinstance(item, pa.Table | pa.RecordBatch):
        return _table_batches(item, batch_rows)
    raise OrdersInputError(
        f"data yielded a {type(item).__name__}; an iterable input must yield pyarrow RecordBatches or pandas "
        "DataFrames"
    )


def _same_columns(batches: Iterator[pa.RecordBatch], names: list[str]) -> Iterator[pa.RecordBatch]:
    expected = set(names)
    for batch in batches:
        if set(batch.schema.names) != expected:
            raise OrdersInputError(
                f"a batch has columns {batch.schema.names}, but the first batch had {names}: "
                "every batch of a streamed input must have the same columns"
            )
        yield batch.select(names)


def _iterable_source(data: Iterable[Any], batch_rows: int) -> OrdersSource:
    items = iter(data)
    first = next(items, None)
    if first is None:
        return OrdersSource([], iter(()))
    names = _names_of(first)
    every = itertools.chain([first], items)
    batches = itertools.chain.from_iterable(_item_batches(item, batch_rows) for item in every)
    return OrdersSource(names, _same_columns(batches, names))


def _names_of(item: object) -> list[str]:
    if isinstance(item, pd.DataFrame):
        return [str(name) for name in item.columns]
    if isinstance(item, pa.Table | pa.RecordBatch):
        return list(item.schema.names)
    raise OrdersInputError(
        f"data yielded a {type(item).__name__}; an iterable input must yield pyarrow RecordBatches or pandas "
        "DataFrames"
    )


def _is_binary_stream(data: object) -> bool:
    return not isinstance(data, io.TextIOBase) and callable(getattr(data, "read", None))


def open_source(data: object, batch_rows: int) -> OrdersSource:
    """Open ``data`` for streaming, reading no more than the header or the first batch.

    :param data: see :func:`prepare_simple_orders`.
    :param batch_rows: rows per batch for in-memory inputs.
    """
    if isinstance(data, pd.DataFrame):
        if data.shape[1] == 0 and len(data):
            raise OrdersInputError("data has rows but no columns")
        return OrdersSource([str(name) for name in data.columns], _frame_batches(data, batch_rows))
    if isinstance(data, pa.Table | pa.RecordBatch):
        return OrdersSource(list(data.schema.names), _table_batches(data, batch_rows))
    if isinstance(data, str | Path):
        if not Path(data).is_file():
            raise ValueError(f"data: no such CSV file: {str(data)!r}")
        csv_source = open_csv_source(data, batch_rows)
        return OrdersSource(
            csv_source.names, csv_source.batches(), True, csv_source.close, csv_source.delimiter
        )
    if _is_binary_stream(data):
        csv_source = open_csv_source(data, batch_rows)  # type: ignore[arg-type]
        return OrdersSource(
            csv_source.names, csv_source.batches(), True, csv_source.close, csv_source.delimiter
        )
    if isinstance(data, io.TextIOBase):
        raise ValueError(
            "data: open the CSV file in binary mode ('rb'): the file must be read as UTF-8 bytes"
        )
    if isinstance(data, Iterable) and not isinstance(data, bytes | bytearray):
        return _iterable_source(data, batch_rows)
    raise ValueError(
        "data must be a pandas DataFrame, a pyarrow Table or RecordBatch, an iterable of those, "
        f"a path to a CSV file or a binary file-like object; got {type(data).__name__}"
    )
