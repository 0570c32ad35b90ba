"""Check and write every column but ``DateTime``: identifiers, Target, amounts, and the calls' fields.

Each function takes one batch's column and records refused rows in ``problems``; refused rows are
written as ``""`` (they never reach a part: one refused row fails the run). Values are trimmed (Metrika
trims them too); the rows where trimming changed something are returned, to be counted in a warning.

Choices where Metrika's documentation is silent:

- flags (``StaticCall``, ``CallMissed``, ``FirstTimeCaller``) take 0/1 as numbers or text, booleans,
  and ``true``/``false`` text in any case (what a boolean column exported to CSV holds); written 0/1;
- ``PhoneNumber`` must be ``+``, then 7 to 15 digits (E.164's limits); spaces, dashes, dots and
  brackets between them are removed and counted; a number without ``+`` is refused, since the
  country code cannot be guessed;
- URLs must be absolute ``http://`` or ``https://`` URLs without spaces.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.offline_conversions.columns import (
    CURRENCY,
    DIGIT_IDENTIFIERS,
    MAX_DURATION,
    PHONE_NUMBER,
    PRICE,
)
from airflow_provider_metrika.offline_conversions.errors import ConversionsInputError
from airflow_provider_metrika.simple_orders.control_chars import REASON_CONTROL, control_rows
from airflow_provider_metrika.simple_orders.money import (
    CURRENCY_PATTERN,
    MAX_INTEGER_DIGITS,
    REASON_CURRENCY,
    REASON_TOO_LARGE,
    normalise_amounts,
)
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import to_text

REASON_REQUIRED = "is empty: every row needs its {column}"
REASON_NOT_DIGITS = "is not digits only: Metrika's {column} is a number such as 1704873600123456789"
REASON_FLOAT_ID = (
    "looks like a number that went through a float (123.0, 1.7e+18), which loses digits: read the "
    "column as text or Int64 where the data is read (pd.read_csv(..., dtype={{'{column}': str}}), "
    "CAST(... AS VARCHAR) in SQL), not as float"
)
REASON_FLAG = "is not 0 or 1 (true/false and booleans are read as 1/0)"
REASON_DURATION = f"is not a whole number of seconds from 0 to {MAX_DURATION}"
REASON_PHONE = (
    "is not a phone number in international form: + then the country code and the number, 7 to 15 "
    "digits, e.g. +70123456789"
)
REASON_URL = "is not an absolute http:// or https:// URL without spaces"
REASON_PRICE_TOO_LARGE = f"is too large: Price must be below 10^{MAX_INTEGER_DIGITS}"

_FLOAT_MANGLED = r"^[0-9]+\.[0-9]*$|^[0-9]*\.?[0-9]+[eE][+-]?[0-9]+$"
_PHONE = r"^\+[1-9][0-9]{6,14}$"
_PHONE_PUNCTUATION = "[ ().\u00a0-]"
_URL = r"(?i)^https?://[^\s/?#]+(?:[/?#]\S*)?$"
_TRUE = ("1", "true")
_FALSE = ("0", "false")


def _trimmed(array: pa.Array, column: str) -> tuple[pa.Array, np.ndarray]:
    """Return the column as trimmed text (``""`` when missing) and which cells trimming changed."""
    text = to_text(array, column)
    trimmed = pc.utf8_trim_whitespace(text)
    return trimmed, pc.not_equal(text, trimmed).to_numpy(zero_copy_only=False)


def _refuse(text: pa.Array, refused: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(refused), "", text) if refused.any() else text


def _controls(array: pa.Array, column: str, problems: BatchProblems) -> np.ndarray:
    found = control_rows(array)
    found = np.zeros(len(array), dtype=bool) if found is None else found
    problems.add(column, REASON_CONTROL, found)
    return found


def text_column(
    array: pa.Array, column: str, problems: BatchProblems, *, required: bool
) -> tuple[pa.Array, np.ndarray]:
    """Return free text (``Target``, ``UserId``, ``PurchaseId``, ``Tag``) trimmed, and the trimmed rows.

    :param array: the column.
    :param column: its Metrika name.
    :param problems: where refused values are recorded.
    :param required: refuse empty cells.
    """
    text, trimmed = _trimmed(array, column)
    refused = _controls(text, column, problems)
    if required:
        empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
        problems.add(column, REASON_REQUIRED.format(column=column), empty)
        refused = refused | empty  # a new array: the masks given to problems stay as they are
    return _refuse(text, refused), trimmed & ~refused


def identifier_column(array: pa.Array, column: str, problems: BatchProblems) -> tuple[pa.Array, np.ndarray]:
    """Return the identifier sent, trimmed, and the trimmed rows; ClientId and Yclid must be digits.

    :param array: the column (text or integers; a float column is refused before).
    :param column: ``ClientId``, ``UserId``, ``Yclid`` or ``PurchaseId``.
    :param problems: where refused values are recorded.
    """
    text, trimmed = text_column(array, column, problems, required=True)
    if column not in DIGIT_IDENTIFIERS:
        return text, trimmed
    other = pc.invert(pc.match_substring_regex(text, r"^[0-9]*$")).to_numpy(zero_copy_only=False)
    mangled = other & pc.match_substring_regex(text, _FLOAT_MANGLED).to_numpy(zero_copy_only=False)
    problems.add(column, REASON_FLOAT_ID.format(column=column), mangled)
    problems.add(column, REASON_NOT_DIGITS.format(column=column), other & ~mangled)
    return _refuse(text, other), trimmed & ~other


def _numbers_as_text(array: pa.Array, column: str) -> pa.Array:
    """Return integral numbers as integer text; fractions, NaN and infinities as text that fails checks."""
    if pa.types.is_boolean(array.type):
        return array.cast(pa.int8()).cast(pa.string()).fill_null("")
    if pa.types.is_floating(array.type):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**63)
        as_int = pa.array(np.where(whole, values, 0).astype(np.int64)).cast(pa.string())
        raw = pa.array(values, mask=np.isnan(values)).cast(pa.string()).fill_null("")
        return pc.if_else(pa.array(whole), as_int, raw)
    return _trimmed(array, column)[0]


def flag_column(array: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    """Return a 0/1 flag as ``0``/``1``, ``""`` when missing.

    :param array: booleans, numbers or text.
    :param column: ``StaticCall``, ``CallMissed`` or ``FirstTimeCaller``.
    :param problems: where refused values are recorded.
    """
    text = pc.utf8_lower(_numbers_as_text(array, column))
    true = pc.is_in(text, pa.array(_TRUE))
    false = pc.is_in(text, pa.array(_FALSE))
    bad = pc.invert(pc.or_(pc.or_(true, false), pc.equal(text, ""))).to_numpy(zero_copy_only=False)
    problems.add(column, REASON_FLAG, bad)
    return pc.if_else(true, "1", pc.if_else(false, "0", ""))


def duration_column(array: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    """Return whole seconds from 0 to 4294967295 without leading zeros, ``""`` when missing.

    :param array: integers, integral floats or digit text.
    :param column: ``TalkDuration`` or ``HoldDuration``.
    :param problems: where refused values are recorded.
    """
    text = _numbers_as_text(array, column)
    digits = pc.match_substring_regex(text, r"^[0-9]+$").to_numpy(zero_copy_only=False)
    short = pc.utf8_ltrim(text, "0")
    length = pc.utf8_length(short).to_numpy(zero_copy_only=False)
    fits = digits & (length <= 10)
    value = pc.if_else(pa.array(fits), pc.if_else(pc.equal(short, ""), "0", short), "0").cast(pa.int64())
    ok = fits & (value.to_numpy() <= MAX_DURATION)
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    problems.add(column, REASON_DURATION, ~ok & ~empty)
    return pc.if_else(pa.array(ok), value.cast(pa.string()), "")


def phone_column(array: pa.Array, problems: BatchProblems) -> tuple[pa.Array, np.ndarray]:
    """Return ``PhoneNumber`` as ``+`` and digits, and the rows where punctuation was removed.

    :param array: the column (text; integers are refused per row for lacking ``+``).
    :param problems: where refused values are recorded.
    """
    text, _ = _trimmed(array, PHONE_NUMBER)
    refused = _controls(text, PHONE_NUMBER, problems)
    compact = pc.replace_substring_regex(text, _PHONE_PUNCTUATION, "")
    valid = pc.match_substring_regex(compact, _PHONE).to_numpy(zero_copy_only=False)
    bad = ~valid & pc.not_equal(text, "").to_numpy(zero_copy_only=False) & ~refused
    problems.add(PHONE_NUMBER, REASON_PHONE, bad)
    refused = refused | bad
    changed = pc.not_equal(compact, to_text(array, PHONE_NUMBER)).to_numpy(zero_copy_only=False)
    return _refuse(compact, refused), changed & ~refused


def url_column(array: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    """Return an http(s) URL trimmed, ``""`` when missing.

    :param array: the column.
    :param column: ``URL`` or ``CallTrackerURL``.
    :param problems: where refused values are recorded.
    """
    text, _ = _trimmed(array, column)
    refused = _controls(text, column, problems)
    valid = pc.match_substring_regex(text, _URL).to_numpy(zero_copy_only=False)
    bad = ~valid & pc.not_equal(text, "").to_numpy(zero_copy_only=False) & ~refused
    problems.add(column, REASON_URL, bad)
    return _refuse(text, refused | bad)


def price_column(array: pa.Array, problems: BatchProblems, decimal: str) -> pa.Array:
    """Return ``Price`` as a plain non-negative dot decimal, read as the orders core reads amounts.

    :param array: floats, integers, decimals or text.
    :param problems: where refused values are recorded.
    :param decimal: ``.``, ``,`` or either (see the orders core's ``decimal=``).
    """
    own = BatchProblems(len(array))
    text = normalise_amounts(array, PRICE, own, decimal)
    for column, reason, mask in own.entries:
        problems.add(column, REASON_PRICE_TOO_LARGE if reason == REASON_TOO_LARGE else reason, mask)
    return text


def currency_column(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return ISO 4217 alpha-3 codes upper-cased, ``""`` when missing, as the orders core checks them.

    :param array: the column.
    :param problems: where refused values are recorded.
    """
    text = pc.utf8_upper(_trimmed(array, CURRENCY)[0])
    valid = pc.or_(pc.match_substring_regex(text, CURRENCY_PATTERN), pc.equal(text, ""))
    problems.add(CURRENCY, REASON_CURRENCY, pc.invert(valid))
    return pc.if_else(valid, text, "")


def refuse_float_columns(
    columns: dict[str, pa.Array], sources: dict[str, str], allowed: frozenset[str]
) -> None:
    """Refuse, in one error, every float column that must be exact text (identifiers, Target, phones).

    :param columns: Metrika column -> the batch's array.
    :param sources: Metrika column -> input column name.
    :param allowed: columns that read floats (DateTime, Price, flags, durations).
    """
    found = [
        column
        for column, array in columns.items()
        if column not in allowed and pa.types.is_floating(array.type)
    ]
    if not found:
        return
    names = ", ".join(f"{column} (input column {sources[column]!r})" for column in found)
    first = sources[found[0]]
    raise ConversionsInputError(
        f"{names} {'hold' if len(found) > 1 else 'holds'} floating-point numbers: a float keeps only about "
        "15 digits, so identifiers such as ClientId (up to 20 digits) may already have lost some, and 123 "
        "reads back as 123.0. Read the column as text or Int64 where the data is read, e.g. "
        f"pd.read_csv(..., dtype={{{first!r}: str}}) or CAST({first} AS VARCHAR) in SQL; converting the "
        "float column afterwards cannot restore lost digits"
    )
