"""Refuse control characters in any text cell: they are invisible in a log and read differently by tools.

Refused: C0 controls U+0000 to U+001F (tab, line feed and carriage return among them), DEL U+007F and
C1 controls U+0080 to U+009F: the Unicode category Cc. A CSV reader keeps a quoted line break inside its
value, but Metrika's format has no use for one, and a tab or NUL in an id or an email is a copy-paste
accident that would otherwise be sent as is.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.bytes_ops import has_flagged, string_buffers

REASON_CONTROL = (
    "holds a control character (a tab, line break, NUL or another invisible character, shown as \\x..): "
    "remove it from the value"
)
_C1_LEAD = 0xC2  # U+0080..U+009F are encoded as C2 80..C2 9F


def control_flags(data: np.ndarray) -> np.ndarray | None:
    """Return one flag per byte of UTF-8 text, set where a control character starts; None when none does.

    :param data: UTF-8 bytes.
    """
    if len(data) == 0 or (data.min() >= 0x20 and data.max() < 0x7F):
        return None  # printable ASCII only: two SIMD reductions, far cheaper than any comparison pass
    flags = (data < 0x20) | (data == 0x7F)
    leads = np.flatnonzero(data[:-1] == _C1_LEAD)
    if len(leads):
        following = data[leads + 1]
        flags[leads[(following >= 0x80) & (following <= 0x9F)]] = True
    return flags if flags.any() else None


def _buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the offsets (from 0) and bytes of a string or large string array, without copying."""
    if pa.types.is_string(array.type):
        return string_buffers(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data_buffer = array.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def _string_rows(array: pa.Array) -> np.ndarray:
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    offsets, data = _buffers(array)
    flags = control_flags(data)
    if flags is None:
        return np.zeros(len(array), dtype=bool)
    # Nulls hold no bytes, so their offsets span nothing and they are never flagged.
    return has_flagged(offsets, flags)


def control_rows(array: pa.Array) -> np.ndarray | None:
    """Return which rows of a text column hold a control character; None for columns without text.

    :param array: the column as given: text, dictionary-encoded text or a list of text values.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        found = control_rows(array.dictionary)
        if found is None or not found.any():
            return None if found is None else np.zeros(len(array), dtype=bool)
        indices = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
        return found[indices] & array.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        found = control_rows(pc.list_flatten(array))
        if found is None:
            return None
        rows = np.zeros(len(array), dtype=bool)
        rows[pc.list_parent_indices(array).to_numpy()[found]] = True
        return rows
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return _string_rows(array)
    return None
