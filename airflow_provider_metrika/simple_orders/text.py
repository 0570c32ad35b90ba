"""Arrow helpers shared by the column normalisers: cells as text, and multi-value cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.errors import OrdersInputError

#: Columns that read floats by rules of their own (amounts; dates refuse numbers with their own
#: message); every other column needs the exact text, so a float column is refused.
FLOAT_READ_COLUMNS = frozenset({"create_date_time", "revenue", "cost"})

_FLOAT_WHY = {
    "client_ids": (
        "ClientIDs have up to 20 digits and a float keeps only about 15, so digits may already be lost"
    ),
    "phones": "phones have up to 15 digits and a float may already have lost some",
}
_FLOAT_WHY_DEFAULT = (
    "a float cannot hold these values exactly (12345 reads back as 12345.0, long numbers lose digits)"
)


def empty_strings(length: int) -> pa.StringArray:
    """Return ``length`` empty strings.

    :param length: number of elements.
    """
    return pa.nulls(length, pa.string()).fill_null("")


def decode_utf8(array: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """Decode a binary column read from CSV; return the text and a mask of cells that were not UTF-8.

    :param array: a ``binary`` array.
    """
    try:
        return array.cast(pa.string()), None
    except pa.ArrowInvalid:
        pass
    # Rare path: find the offending cells one by one, show them with replacement characters.
    raw = array.to_pylist()
    bad = np.zeros(len(raw), dtype=bool)
    text: list[str | None] = []
    for index, value in enumerate(raw):
        if value is None:
            text.append(None)
            continue
        try:
            text.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            bad[index] = True
            text.append(value.decode("utf-8", errors="replace"))
    return pa.array(text, pa.string()), bad


def refuse_floats(found: Mapping[str, tuple[str, pa.DataType]]) -> OrdersInputError:
    """Return one error naming every float column where exact text is needed, with the read that fixes all.

    :param found: Metrika column name -> (the input column it is read from, its type).
    """
    lines = []
    for column, (source, kind) in found.items():
        named = column if source == column else f"{column} (input column {source!r})"
        lines.append(f"  {named} is {kind} (floating point): {_FLOAT_WHY.get(column, _FLOAT_WHY_DEFAULT)}")
    sources = [source for source, _ in found.values()]
    as_text = "{" + ", ".join(f"{source!r}: str" for source in sources) + "}"
    count = f"{len(found)} columns hold" if len(found) > 1 else "column " + next(iter(found)) + " holds"
    return OrdersInputError(
        f"{count} floating-point numbers where Metrika needs the exact text:\n"
        + "\n".join(lines)
        + f"\nFix: read {'them' if len(found) > 1 else 'it'} as text where the data is read, e.g. "
        f"pd.read_csv(..., dtype={as_text}) (or dtype=str for every column; a DataFrame already read "
        "cannot be repaired with astype, whose text would end in .0); from SQL, cast to text "
        f"(CAST({sources[0]} AS VARCHAR)). Text is written exactly as read"
    )


def refuse_float(column: str, array: pa.Array) -> OrdersInputError:
    """Return the error for a float column where exact text is needed.

    :param column: Metrika column name.
    :param array: the offending column.
    """
    return refuse_floats({column: (column, array.type)})


def check_exact_text(columns: Mapping[str, pa.Array], sources: Mapping[str, str]) -> None:
    """Refuse, in one error, every float column among those written as exact text (all but amounts and dates).

    :param columns: Metrika column name -> the batch's input array.
    :param sources: Metrika column name -> the input column it is read from.
    """
    found = {
        column: (sources.get(column, column), array.type)
        for column, array in columns.items()
        if column not in FLOAT_READ_COLUMNS and pa.types.is_floating(array.type)
    }
    if found:
        raise refuse_floats(found)


def to_text(array: pa.Array, column: str) -> pa.Array:
    """Return a column as ``string`` with ``""`` for missing cells; integers are written exactly.

    :param array: the column; text, dictionary, null, integer or decimal typed.
    :param column: Metrika column name, for the error message.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        return to_text(array.dictionary_decode(), column)
    if pa.types.is_floating(kind):
        raise refuse_float(column, array)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        array = decode_utf8(array)[0]
    elif not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    ):
        raise OrdersInputError(f"column {column} has type {kind}, which cannot be read as {column} values")
    return array.cast(pa.string()).fill_null("")


@dataclass
class MultiValues:
    """The non-empty values of a multi-value column, flattened, with the row each came from.

    :param values: trimmed non-empty values, in row order.
    :param parents: row index of each value.
    :param rows: number of rows in the column.
    :param single: True when no row has more than one value (joining is then a scatter).
    """

    values: pa.Array
    parents: np.ndarray
    rows: int
    single: bool

    def row_mask(self, value_mask: np.ndarray) -> np.ndarray:
        """Return which rows hold at least one value flagged in ``value_mask``.

        :param value_mask: one flag per value.
        """
        rows = np.zeros(self.rows, dtype=bool)
        rows[self.parents[value_mask]] = True
        return rows

    def row_counts(self) -> np.ndarray:
        """Return how many values each row holds."""
        return np.bincount(self.parents, minlength=self.rows)

    def take_rows(self, keep: np.ndarray) -> MultiValues:
        """Return the values of the rows flagged in ``keep`` only, renumbered.

        :param keep: one flag per row.
        """
        if keep.all():
            return self
        kept = keep[self.parents]
        renumbered = np.cumsum(keep) - 1
        values = self.values.filter(pa.array(kept))
        return MultiValues(values, renumbered[self.parents[kept]], int(keep.sum()), self.single)

    def join(self, values: pa.Array | None = None) -> pa.Array:
        """Return one cell per row: its values comma-joined without spaces, ``""`` when it has none.

        :param values: replacement values (same length and order as :attr:`values`), e.g. normalised ones.
        """
        values = self.values if values is None else values
        if self.single:
            mask = np.zeros(self.rows, dtype=bool)
            mask[self.parents] = True
            return pc.replace_with_mask(empty_strings(self.rows), pa.array(mask), values)
        offsets = np.zeros(self.rows + 1, dtype=np.int32)
        np.cumsum(self.row_counts(), out=offsets[1:])
        return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), values), ",")


def _from_flat(values: pa.Array, parents: np.ndarray, rows: int) -> MultiValues:
    values = pc.utf8_trim_whitespace(values)
    keep = pc.greater(pc.binary_length(values), 0)
    values = values.filter(keep)
    parents = parents[keep.to_numpy(zero_copy_only=False)]
    single = bool(len(parents) == 0 or np.all(np.diff(parents) > 0))
    return MultiValues(values, parents, rows, single)


def split_values(array: pa.Array, column: str) -> MultiValues:
    """Split a multi-value column into its values: list cells, or strings joined with commas.

    Spaces around commas are tolerated and empty values are dropped (an empty value is no value).

    :param array: the column.
    :param column: Metrika column name, for error messages.
    """
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        parents = pc.list_parent_indices(array).to_numpy().astype(np.int64)
        flat = pc.list_flatten(array)
        return _from_flat(to_text(flat, column), parents, len(array))
    text = to_text(array, column)
    if not pc.any(pc.match_substring(text, ",")).as_py():
        return _from_flat(text, np.arange(len(text), dtype=np.int64), len(text))
    lists = pc.split_pattern(text, ",")
    parents = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    return _from_flat(pc.list_flatten(lists), parents, len(text))
