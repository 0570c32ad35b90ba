"""Byte-level numpy operations on Arrow string arrays, for checks that regexes would do far slower.

Flags come from plain comparisons (about 0.1 ns a byte) rather than lookup tables (2.5 ns), and flagged
bytes are mapped to their strings with a binary search, because they are few next to the bytes scanned.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)
#: Longest string hashed from fixed-width rows; longer ones are hashed from a prefix and a suffix.
_MAX_HASH_WIDTH = 64


def string_buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the value offsets (from 0, int64) and the bytes of a ``string`` array without nulls.

    :param array: the strings.
    """
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    offsets = offsets.astype(np.int64)
    data_buffer = array.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def from_buffers(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """Build a ``string`` array from offsets (from 0) and bytes.

    :param offsets: n + 1 offsets.
    :param data: the bytes.
    """
    return pa.StringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
    )


def lengths(array: pa.Array) -> np.ndarray:
    """Return the byte length of each string.

    :param array: ``string`` array without nulls.
    """
    return np.diff(string_buffers(array)[0])


def _flags(data: np.ndarray, chars: bytes) -> np.ndarray:
    flags = np.zeros(len(data), dtype=bool)
    for char in chars:
        flags |= data == char
    return flags


def _owners(offsets: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Return per string whether any of its bytes is flagged."""
    result = np.zeros(len(offsets) - 1, dtype=bool)
    positions = np.flatnonzero(flags)
    if len(positions):
        result[np.searchsorted(offsets, positions, side="right") - 1] = True
    return result


def has_bytes(array: pa.Array, chars: bytes) -> np.ndarray:
    """Return per string whether it holds any of the given ASCII bytes.

    :param array: ``string`` array without nulls.
    :param chars: the bytes to look for.
    """
    offsets, data = string_buffers(array)
    return _owners(offsets, _flags(data, chars))


def has_non_digits(array: pa.Array) -> np.ndarray:
    """Return per string whether it holds anything but ASCII digits.

    :param array: ``string`` array without nulls.
    """
    offsets, data = string_buffers(array)
    return _owners(offsets, (data - np.uint8(ord("0"))) > 9)  # uint8 wraps: bytes below "0" become large


def has_non_ascii(array: pa.Array) -> bool:
    """Return whether any string holds a non-ASCII byte.

    :param array: ``string`` array without nulls.
    """
    return bool((string_buffers(array)[1] >= 128).any())


def remove_bytes(array: pa.Array, chars: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Delete the given ASCII bytes from every string; return the new offsets (from 0) and bytes.

    :param array: ``string`` array without nulls.
    :param chars: the bytes to delete.
    """
    offsets, data = string_buffers(array)
    drop = _flags(data, chars)
    removed_before = np.searchsorted(np.flatnonzero(drop), offsets, side="left")
    return offsets - removed_before, data[~drop]


def hash64(array: pa.Array) -> np.ndarray:
    """Return a 64-bit hash of each string (equal strings, equal hashes; collisions are possible).

    :param array: ``string`` array without nulls.
    """
    sizes = lengths(array)
    if len(sizes) and int(sizes.max()) > _MAX_HASH_WIDTH:
        head = pc.utf8_slice_codeunits(array, 0, _MAX_HASH_WIDTH // 2)
        tail = pc.utf8_slice_codeunits(array, -(_MAX_HASH_WIDTH // 2))
        array = pc.binary_join_element_wise(head, tail, "")
    longest = int(lengths(array).max()) if len(sizes) else 0
    width = max(8, -(-longest // 8) * 8)
    padded = pc.ascii_rpad(array, width=width, padding="\x00")
    words = string_buffers(padded)[1].view(np.uint64).reshape(len(array), width // 8)
    key = sizes.astype(np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            key = (key ^ words[:, column]) * _MIX
            key ^= key >> np.uint64(31)
        key = (key ^ (key >> np.uint64(29))) * _MIX
    return key ^ (key >> np.uint64(32))
