"""Normalise and validate customer identifiers: emails, phones, ClientIDs and MD5 hashes."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.bytes_ops import (
    from_buffers,
    has_bytes,
    has_flagged,
    has_non_ascii,
    has_non_digits,
    lengths,
    remove_bytes,
    string_buffers,
)
from airflow_provider_metrika.simple_orders.masking import mask_email, mask_phone
from airflow_provider_metrika.simple_orders.phone_plan import plan_problems
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import MultiValues, split_values

# Besides @ and a dotted domain, refuse characters that would need CSV quoting inside one value.
EMAIL_PATTERN = r'^[^@\s\pZ",;]+@[^@\s\pZ",;.]+(?:\.[^@\s\pZ",;.]+)+$'
# \pZ catches no-break and other Unicode spaces that spreadsheets put into phone numbers.
PHONE_NOISE_PATTERN = r"[+()\-.\s\pZ]"
MD5_PATTERN = r"^[0-9a-f]{32}$"

REASON_EMAIL = "is not a valid email (must contain @ and a domain)"
REASON_PHONE = (
    "is not a valid phone (after removing +, spaces, brackets, dashes and dots it must be 7 to 15 digits)"
)
REASON_PHONE_EXTENSION = (
    "holds an extension (доб, вн, ext, x, # or a bracketed group after the number), which Metrika "
    "cannot use: send the number alone, without the extension (keep that in your CRM)"
)
REASON_PHONE_SEVERAL = (
    "holds two numbers separated by a space or a semicolon: put one phone per value and separate "
    'several with commas, e.g. "79991112233,79994445566"'
)
#: An extension marker (Russian ``доб``/``вн``, ``ext``, ``x``, ``#``) before the digits that end the value,
#: or a bracketed group ending it: ``+7 495 123-45-67 (89)``.
PHONE_EXTENSION_PATTERN = r"(?i)(?:(?:(?:доб|вн|ext)[\pL.]*|(?:^|[^\pL])x|#)[\s\pZ.:]*[0-9]+|\))[\s\pZ]*$"
_BREAK = r"[\s\pZ;]"
#: Two runs of at least 7 digits each, with a space or a semicolon between them: two local numbers.
PHONE_SEVERAL_PATTERN = rf"(?:[^0-9\s\pZ;]*[0-9]){{7}}[^\s\pZ;]*{_BREAK}+.*(?:[^0-9\s\pZ;]*[0-9]){{7}}"
REASON_CLIENT_ID = "is not a valid ClientID (digits only)"
REASON_MD5 = "is not an MD5 hash (32 hexadecimal digits)"

_PHONE_NOISE = b"+() -.\t\n\r\f\v"

_EMAIL_RE = re.compile(r'[^@\s",;]+@[^@\s",;.]+(?:\.[^@\s",;.]+)+')
_PHONE_NOISE_RE = re.compile(r"[+()\-.\s]")
_PHONE_RE = re.compile(r"[0-9]{7,15}")
_EXTENSION_RE = re.compile(
    r"(?:(?:(?:доб|вн|ext)[^\W\d_.]*\.?|(?:^|[\W\d_])x|#)[\s.:]*[0-9]+|\))\s*$", re.IGNORECASE
)
_SEVERAL_RE = re.compile(r"(?:[^0-9\s;]*[0-9]){7}[^\s;]*[\s;]+.*(?:[^0-9\s;]*[0-9]){7}")


def normalize_email(value: str) -> str:
    """Return an email trimmed and lowercased; raise ValueError if it has no ``@`` and dotted domain.

    :param value: the email as entered.
    """
    email = value.strip().lower()
    if not _EMAIL_RE.fullmatch(email):
        raise ValueError(f"{mask_email(value)!r} {REASON_EMAIL}")
    return email


def normalize_phone(value: str, rewrite_leading_8: bool = False) -> str:
    """Return a phone as digits only (``+7 (999) 555-11-11`` -> ``79995551111``); raise ValueError if invalid.

    :param value: the phone as entered, with the country code.
    :param rewrite_leading_8: rewrite Russian 11-digit numbers starting with 8 to start with 7.
    """
    if _EXTENSION_RE.search(value):
        raise ValueError(f"{mask_phone(value)!r} {REASON_PHONE_EXTENSION}")
    if _SEVERAL_RE.search(value):
        raise ValueError(f"{mask_phone(value)!r} {REASON_PHONE_SEVERAL}")
    phone = _PHONE_NOISE_RE.sub("", value)
    if not _PHONE_RE.fullmatch(phone):
        raise ValueError(f"{mask_phone(value)!r} {REASON_PHONE}")
    for reason, _ in plan_problems(pa.array([phone], pa.string()), np.ones(1, dtype=bool)):
        raise ValueError(f"{mask_phone(value)!r} {reason}")
    if rewrite_leading_8:
        phone = _rewrite_leading_8(pa.array([phone], pa.string()))[0].as_py()
    return phone


def _checked(
    values: MultiValues,
    normalised: pa.Array,
    bad: np.ndarray,
    column: str,
    reason: str,
    problems: BatchProblems,
) -> MultiValues:
    problems.add(column, reason, values.row_mask(bad))
    return MultiValues(normalised, values.parents, values.rows, values.single)


def _mismatch(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.invert(pc.match_substring_regex(values, pattern)).to_numpy(zero_copy_only=False)


def _phone_digits(values: pa.Array) -> pa.Array:
    """Strip phone punctuation byte-wise (far faster than a regex); Unicode spaces go through the regex."""
    if has_non_ascii(values):
        return pc.replace_substring_regex(values, PHONE_NOISE_PATTERN, "")
    return from_buffers(*remove_bytes(values, _PHONE_NOISE))


def _rewrite_leading_8(digits: pa.Array) -> pa.Array:
    """Rewrite 8 + 10 digits to 7 + 10 digits (Russian domestic numbers), byte-wise.

    Only where the 10 digits can be a Russian or Kazakh number: none starts with 0, 1 or 2, so
    ``81312345678`` (Japan's +81 3 1234 5678) or ``80291234567`` (Belarus's domestic 8 029 ...) stay.
    """
    offsets, data = string_buffers(digits)
    if not len(data):
        return digits
    starts = offsets[:-1]
    eleven = np.diff(offsets) == 11
    first = data[np.minimum(starts, len(data) - 1)]
    second = data[np.minimum(starts + 1, len(data) - 1)]
    leading_8 = eleven & (first == ord("8")) & (second >= ord("3"))
    if not leading_8.any():
        return digits
    data = data.copy()
    data[starts[leading_8]] = ord("7")
    return from_buffers(offsets, data)


def normalise_emails(array: pa.Array, problems: BatchProblems, column: str = "emails") -> MultiValues:
    """Return the emails of each row trimmed and lowercased; record invalid ones.

    :param array: the ``emails`` column.
    :param problems: where to record rows with an invalid email.
    :param column: the column name used in problems.
    """
    values = split_values(array, column)
    emails = pc.utf8_lower(values.values)
    return _checked(values, emails, _mismatch(emails, EMAIL_PATTERN), column, REASON_EMAIL, problems)


def normalise_phones(array: pa.Array, problems: BatchProblems, rewrite_leading_8: bool) -> MultiValues:
    """Return the phones of each row as digits only; record invalid ones.

    :param array: the ``phones`` column (text or integers).
    :param problems: where to record rows with an invalid phone.
    :param rewrite_leading_8: rewrite 11-digit numbers starting with 8 to start with 7.
    """
    values = split_values(array, "phones")
    digits = _phone_digits(values.values)
    sizes = lengths(digits)
    bad = has_non_digits(digits) | (sizes < 7) | (sizes > 15)
    extension, several = _misread_phones(values.values, bad, sizes)
    problems.add("phones", REASON_PHONE_EXTENSION, values.row_mask(extension))
    problems.add("phones", REASON_PHONE_SEVERAL, values.row_mask(several))
    for reason, mask in plan_problems(digits, ~bad & ~extension & ~several):
        problems.add("phones", reason, values.row_mask(mask))
    if rewrite_leading_8:
        digits = _rewrite_leading_8(digits)
    return _checked(values, digits, bad & ~extension & ~several, "phones", REASON_PHONE, problems)


def _misread_phones(values: pa.Array, bad: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flag values holding an extension or two numbers: stripped to digits they would pass as one number.

    Only the few candidates go through a regex: values already invalid, values ending with a bracket,
    and values of 14 or more digits with a space or a semicolon in them.
    """
    offsets, data = string_buffers(values)
    last = data[np.maximum(offsets[1:] - 1, 0)] if len(data) else np.zeros(len(values), dtype=np.uint8)
    ends_bracketed = (np.diff(offsets) > 0) & (last == ord(")"))
    spaced = sizes >= 14  # two numbers of 7 digits or more: rare, so only those values are scanned
    if spaced.any():
        chosen = np.flatnonzero(spaced)
        subset = values.take(pa.array(chosen))
        sub_offsets, sub_data = string_buffers(subset)
        spaced[chosen] = has_bytes(subset, b" \t;") | _non_ascii_rows(sub_offsets, sub_data)
    extension = _flag_matching(values, bad | ends_bracketed, PHONE_EXTENSION_PATTERN)
    several = _flag_matching(values, (bad | spaced) & ~extension, PHONE_SEVERAL_PATTERN)
    return extension, several


def _non_ascii_rows(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    flags = data >= 128
    if not flags.any():
        return np.zeros(len(offsets) - 1, dtype=bool)
    return has_flagged(offsets, flags)


def _flag_matching(values: pa.Array, candidates: np.ndarray, pattern: str) -> np.ndarray:
    found = np.zeros(len(values), dtype=bool)
    if candidates.any():
        chosen = np.flatnonzero(candidates)
        matched = pc.match_substring_regex(values.take(pa.array(chosen)), pattern)
        found[chosen] = matched.to_numpy(zero_copy_only=False)
    return found


def normalise_client_ids(array: pa.Array, problems: BatchProblems) -> MultiValues:
    """Return the ClientIDs of each row as exact digit strings; record invalid ones.

    :param array: the ``client_ids`` column (text or integers; floats are refused earlier).
    :param problems: where to record rows with an invalid ClientID.
    """
    values = split_values(array, "client_ids")
    bad = has_non_digits(values.values)
    return _checked(values, values.values, bad, "client_ids", REASON_CLIENT_ID, problems)


def normalise_md5(array: pa.Array, problems: BatchProblems, column: str) -> MultiValues:
    """Return the hashes of each row lowercased; record values that are not 32 hex digits.

    :param array: an ``emails_md5`` or ``phones_md5`` column.
    :param problems: where to record rows with an invalid hash.
    :param column: the column name.
    """
    values = split_values(array, column)
    hashes = pc.ascii_lower(values.values)
    return _checked(values, hashes, _mismatch(hashes, MD5_PATTERN), column, REASON_MD5, problems)
