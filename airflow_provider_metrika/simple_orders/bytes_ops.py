"""Byte-level numpy operations on Arrow string arrays, for checks that regexes would do far slower.

Flags come from plain comparisons (about 0.1 ns a byte) rather than lookup tables (2.5 ns), and flagged
bytes are mapped to their strings with a binary search, because they are few next to the bytes scanned.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MIX = np.uint64(0x9E3779B97F4A7C15)


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


def has_flagged(offsets: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Return per string whether any of its bytes is flagged.

    :param offsets: the strings' byte offsets (n + 1 values), as from :func:`string_buffers`.
    :param flags: one flag per byte of the data.
    """
    return _owners(offsets, flags)


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


def _width_classes(sizes: np.ndarray) -> np.ndarray:
    """Return the padded width of each string: 64-byte steps up to 512 bytes, 512-byte steps beyond."""
    small = -(-sizes // 64) * 64
    large = -(-sizes // 512) * 512
    return np.maximum(np.where(sizes <= 512, small, large), 8)


def _hash_padded(padded: pa.Array, sizes: np.ndarray, width: int, seed: np.uint64) -> np.ndarray:
    """Hash strings padded with zero bytes to ``width``, word by word, every word mixed in."""
    words = string_buffers(padded)[1].view(np.uint64).reshape(len(padded), width // 8)
    words = np.ascontiguousarray(words.T)  # one contiguous row per word position
    key = sizes.astype(np.uint64) ^ seed
    with np.errstate(over="ignore"):
        for column in words:
            key = (key ^ column) * _MIX
            key ^= key >> np.uint64(31)
        key = (key ^ (key >> np.uint64(29))) * _MIX
    return key ^ (key >> np.uint64(32))


def hash64(array: pa.Array, seed: int = 0) -> np.ndarray:
    """Return a 64-bit hash of each string over all of its bytes (equal strings, equal hashes).

    Strings are grouped by length, padded to their group's width and hashed eight bytes at a time;
    the hash is stable across processes and versions of the libraries, so it may be stored.

    :param array: ``string`` array without nulls.
    :param seed: picks an independent hash function (e.g. one for ids, one for whole rows).
    """
    sizes = lengths(array)
    result = np.empty(len(sizes), dtype=np.uint64)
    if not len(sizes):
        return result
    widths = _width_classes(sizes)
    mixed_seed = np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64))
    for width in np.unique(widths):
        chosen = np.flatnonzero(widths == width)
        subset = array if len(chosen) == len(sizes) else array.take(pa.array(chosen))
        padded = pc.ascii_rpad(subset, width=int(width), padding="\x00")
        result[chosen] = _hash_padded(padded, sizes[chosen], int(width), mixed_seed)
    return result
