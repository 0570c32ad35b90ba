"""Normalise ``revenue``, ``cost`` and ``currency``: plain non-negative decimals and 3-letter codes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.simple_orders.bytes_ops import has_bytes, lengths, string_buffers
from airflow_provider_metrika.simple_orders.problems import BatchProblems
from airflow_provider_metrika.simple_orders.text import decode_utf8, to_text

NUMBER_BODY = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
DECIMAL_PATTERN = rf"^\+?{NUMBER_BODY}$"
NEGATIVE_PATTERN = rf"^-{NUMBER_BODY}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
#: Thousands separators of decimal-comma exports: space, no-break space, narrow no-break space, apostrophes.
THOUSANDS_SEPARATORS = " \u00a0\u202f'\u2019"
_GROUPED = rf"(?:[0-9]{{1,3}}(?:[{THOUSANDS_SEPARATORS}][0-9]{{3}})+|[0-9]+)"
#: ``4590,50``, ``1 299,99``, ``1'299``, ``-12,5``: a decimal comma, digits grouped by thousands or not.
COMMA_DECIMAL_PATTERN = rf"^[+-]?(?:{_GROUPED}(?:,[0-9]*)?|,[0-9]+)$"
#: ``1.234``, ``12.500``: in a file that may use either separator, a dot followed by exactly three digits
#: is a thousands group to a decimal-comma locale (1234) and a decimal point to everyone else (1.234).
AMBIGUOUS_DOT_PATTERN = r"^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$"
#: The largest amount worth sending is below 10**15 (a quadrillion: more than any order's value, and the
#: limit below which a double keeps every cent); more digits than these are refused, never rounded.
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 20
#: How ``revenue`` and ``cost`` text is read: ``.`` only, ``,`` only, or either (semicolon CSV input).
DECIMAL_EITHER = "either"

REASON_NOT_DECIMAL = (
    "is not a decimal number (digits with . as the decimal point; no spaces, thousands separators "
    'or currency signs; for 4590,50 or 1 299,99 pass decimal=",")'
)
REASON_NOT_DECIMAL_COMMA = (
    'is not a decimal number with a decimal comma (decimal=",": 4590,50 or 1 299,99; no dots '
    "or currency signs)"
)
REASON_NEGATIVE = "is negative (must be 0 or more)"
REASON_NOT_FINITE = "is not a finite number"
REASON_TOO_LARGE = (
    f"is too large: revenue and cost must be below 10^{MAX_INTEGER_DIGITS} (at most "
    f"{MAX_INTEGER_DIGITS} digits before the decimal point); check the column and the exponent"
)
REASON_TOO_PRECISE = (
    f"has more than {MAX_FRACTION_DIGITS} digits after the decimal point: round it (e.g. to cents)"
)
REASON_AMBIGUOUS_DOT = (
    "is ambiguous: where the comma is the decimal separator (as in semicolon files) 1.234 means 1234, "
    'elsewhere 1.234; pass decimal="." if the dot is the decimal point, or decimal="," if it groups '
    "thousands (then write 1 234 or 1234)"
)
REASON_CURRENCY = "is not a 3-letter currency code (e.g. RUB, EUR, USD)"


def _expand_exponents(text: pa.Array) -> pa.Array:
    """Write ``1e-7`` as ``0.0000001``: Metrika's format shows plain decimals only."""
    has_exponent = pc.match_substring(text, "e", ignore_case=True).fill_null(False)
    if not pc.any(has_exponent).as_py():
        return text
    # Exponents are rare, so Python's exact Decimal formatting is affordable here.
    plain = [format(Decimal(value), "f") for value in text.filter(has_exponent).to_pylist()]
    return pc.replace_with_mask(text, has_exponent, pa.array(plain, pa.string()))


def _exponent_digits(value: str) -> tuple[int, int]:
    """Return the digits before and after the point of ``1.5e-7``-like text once written plainly.

    Computed from the text, never by expanding it: ``1e100000000`` would be a 100 MB string.
    """
    mantissa, _, exponent = value.lower().lstrip("+").partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits.rstrip("0"):
        return 1, 0
    point = len(whole) - (len(whole + fraction) - len(digits)) + int(exponent)
    significant = len(digits.rstrip("0"))
    return max(point, 1), max(significant - point, 0)


def _out_of_range_exponents(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Flag numbers with an exponent that would be too large or too precise once written plainly.

    Checked before expanding: ``1e100000000`` would otherwise become a 100 MB cell.
    """
    too_large = np.zeros(len(text), dtype=bool)
    too_precise = np.zeros(len(text), dtype=bool)
    has_exponent = has_bytes(text, b"eE")
    if not has_exponent.any():
        return too_large, too_precise
    chosen = np.flatnonzero(has_exponent)
    # Exponents are rare, so a look at each one's text is affordable here.
    for index, value in zip(chosen, text.take(pa.array(chosen)).to_pylist(), strict=True):
        integer, fraction = _exponent_digits(value)
        too_large[index] = integer > MAX_INTEGER_DIGITS
        too_precise[index] = fraction > MAX_FRACTION_DIGITS
    return too_large, too_precise


def _digit_counts(plain: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return the digits before and after the point of plain decimal text (``""`` counts as none)."""
    sizes = lengths(plain)
    dot = pc.find_substring(plain, ".").to_numpy(zero_copy_only=False)
    integer = np.where(dot >= 0, dot, sizes)
    return integer, np.where(dot >= 0, sizes - dot - 1, 0)


def bounded_amounts(plain: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    """Refuse plain decimals with too many digits before or after the point; return the rest.

    :param plain: plain decimal text, ``""`` when missing.
    :param column: ``revenue`` or ``cost``.
    :param problems: where the refused values are recorded.
    """
    integer, fraction = _digit_counts(plain)
    too_large = integer > MAX_INTEGER_DIGITS
    too_precise = fraction > MAX_FRACTION_DIGITS
    problems.add(column, REASON_TOO_LARGE, too_large)
    problems.add(column, REASON_TOO_PRECISE, too_precise & ~too_large)
    refused = too_large | too_precise
    return pc.if_else(pa.array(refused), "", plain) if refused.any() else plain


def _needs_rewriting(text: pa.Array) -> np.ndarray:
    """Flag values that may not be plain yet: a sign, a leading dot or zero, trailing zeros, an exponent."""
    offsets, data = string_buffers(text)
    sizes = np.diff(offsets)
    if len(data) == 0:
        return np.zeros(len(text), dtype=bool)
    first = np.where(sizes > 0, data[np.minimum(offsets[:-1], len(data) - 1)], 0)
    last = np.where(sizes > 0, data[np.maximum(offsets[1:] - 1, 0)], 0)
    leading = (first == ord("+")) | (first == ord(".")) | ((first == ord("0")) & (sizes > 1))
    trailing = has_bytes(text, b".") & ((last == ord("0")) | (last == ord(".")))
    return leading | trailing | has_bytes(text, b"eE")


def plain_decimal_text(text: pa.Array) -> pa.Array:
    """Return decimals without exponent, sign, leading or trailing zeros (``01200.50`` -> ``1200.5``).

    :param text: strings matching :data:`DECIMAL_PATTERN`, or ``""``.
    """
    text = text.cast(pa.string())
    needs = _needs_rewriting(text)
    if not needs.any():
        return text
    mask = pa.array(needs)
    return pc.replace_with_mask(text, mask, _rewrite_plain(text.filter(mask)))


def _rewrite_plain(text: pa.Array) -> pa.Array:
    text = _expand_exponents(pc.replace_substring_regex(text, r"^\+", ""))
    text = pc.replace_substring_regex(text, r"^\.", "0.")
    text = pc.replace_substring_regex(text, r"^0+([0-9])", r"\1")
    text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def _from_floats(array: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls become NaN: empty cells
    nan = np.isnan(values)
    problems.add(column, REASON_NOT_FINITE, np.isinf(values))
    problems.add(column, REASON_NEGATIVE, values < 0)
    too_large = np.isfinite(values) & (np.abs(values) >= 10.0**MAX_INTEGER_DIGITS)
    problems.add(column, REASON_TOO_LARGE, too_large)
    present = np.isfinite(values) & ~too_large
    # abs() keeps -0.0 from being written as "-0"; shortest round-trip text keeps every digit stored.
    magnitude = np.abs(np.where(present, values, 0.0))
    text = pa.array(magnitude).cast(pa.string())
    # Arrow writes very large and very small numbers with an exponent: only those need rewriting.
    maybe_exponent = (magnitude >= 1e9) | ((magnitude < 1e-4) & (magnitude > 0))
    if maybe_exponent.any():
        mask = pa.array(maybe_exponent)
        text = pc.replace_with_mask(text, mask, _expand_exponents(text.filter(mask)))
    return bounded_amounts(pc.if_else(pa.array(nan | ~present), "", text), column, problems)


def _comma_decimals(text: pa.Array, decimal: str, column: str, problems: BatchProblems) -> pa.Array:
    """Rewrite decimal-comma values as dot decimals; with ``decimal=","`` refuse values with a dot."""
    comma = pc.match_substring_regex(text, COMMA_DECIMAL_PATTERN)
    if decimal == ",":
        dotted = pc.and_(pc.invert(comma), pc.match_substring(text, "."))
        problems.add(column, REASON_NOT_DECIMAL_COMMA, dotted)
        text = pc.if_else(dotted, "", text)  # reported once, not again as "not a decimal number"
    plain = pc.replace_substring_regex(text, f"[{THOUSANDS_SEPARATORS}]", "")
    return pc.if_else(comma, pc.replace_substring(plain, ",", "."), text)


def _from_text(text: pa.Array, column: str, problems: BatchProblems, decimal: str = ".") -> pa.Array:
    text = pc.utf8_trim_whitespace(text)
    if decimal == DECIMAL_EITHER:
        ambiguous = pc.match_substring_regex(text, AMBIGUOUS_DOT_PATTERN)
        problems.add(column, REASON_AMBIGUOUS_DOT, ambiguous)
        text = pc.if_else(ambiguous, "", text)  # reported once, not again below
    if decimal != ".":
        text = _comma_decimals(text, decimal, column, problems)
    number = pc.match_substring_regex(text, DECIMAL_PATTERN)
    negative = pc.match_substring_regex(text, NEGATIVE_PATTERN)
    empty = pc.equal(text, "")
    problems.add(column, REASON_NEGATIVE, negative)
    reason = REASON_NOT_DECIMAL_COMMA if decimal == "," else REASON_NOT_DECIMAL
    problems.add(column, reason, pc.invert(pc.or_(pc.or_(number, negative), empty)))
    text = pc.if_else(number, text, "")
    too_large, too_precise = _out_of_range_exponents(text)
    if too_large.any() or too_precise.any():
        problems.add(column, REASON_TOO_LARGE, too_large)
        problems.add(column, REASON_TOO_PRECISE, too_precise & ~too_large)
        text = pc.if_else(pa.array(too_large | too_precise), "", text)
    return bounded_amounts(plain_decimal_text(text), column, problems)


def normalise_amounts(array: pa.Array, column: str, problems: BatchProblems, decimal: str = ".") -> pa.Array:
    """Return ``revenue`` or ``cost`` as plain decimal text, ``""`` when missing; record invalid values.

    :param array: the column: floats, integers, decimals or text.
    :param column: ``revenue`` or ``cost``.
    :param problems: where to record negative, non-finite or non-numeric values.
    :param decimal: the decimal separator of text values: ``.``; ``,`` (thousands grouped by spaces,
        no-break spaces or apostrophes allowed, dots refused); or :data:`DECIMAL_EITHER`, both.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        return normalise_amounts(array.dictionary_decode(), column, problems, decimal)
    if pa.types.is_floating(kind):
        return _from_floats(array, column, problems)
    if pa.types.is_binary(kind):
        array = decode_utf8(array)[0]
    return _from_text(to_text(array, column), column, problems, decimal)


def normalise_currency(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return currency codes upper-cased, ``""`` when missing (roubles); record codes that are not 3 letters.

    :param array: the ``currency`` column.
    :param problems: where to record invalid codes.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(to_text(array, "currency")))
    valid = pc.or_(pc.match_substring_regex(text, CURRENCY_PATTERN), pc.equal(text, ""))
    problems.add("currency", REASON_CURRENCY, pc.invert(valid))
    return pc.if_else(valid, text, "")
