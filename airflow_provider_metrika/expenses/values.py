"""Check and write every column but ``Date``: sources, UTM tags, amounts, currency, clicks.

Each function takes one batch's column and records refused rows in ``problems``.

Choices where Metrika's documentation is silent or where a silent change would hurt:

- UTM values are sent exactly as given, because Metrika matches them to visits case-sensitively.
  A value with spaces or line breaks around it is refused, not trimmed: whether Metrika trims them is
  not documented, and a trimmed value might then join other visits than the one in the warehouse;
- ``TrafficSource`` must be one of Metrika's values exactly as Metrika writes it (lower case);
- a ``TrafficSourceDetail`` missing from the table shipped here is sent with a warning (the table is
  not Yandex's full list); a referral's detail must be a domain;
- rows for Yandex Direct are refused: Metrika imports Direct's spend itself, an upload would double
  it, and Direct's expenses cannot be deleted.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_metrika.expenses.columns import (
    AD,
    CLICKS,
    CURRENCY,
    DIRECT_DETAILS,
    DIRECT_UTM_SOURCES,
    EXPENSES,
    REFERRAL,
    SOURCE_DETAILS,
    TRAFFIC_SOURCE,
    TRAFFIC_SOURCE_DETAIL,
    TRAFFIC_SOURCES,
    UTM_SOURCE,
)
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

REASON_SPACES = (
    "has spaces or line breaks around it: UTM values are sent exactly as given (Metrika matches them "
    "case-sensitively to the visits' tags), so remove them at the source if the visits' tags have none"
)
REASON_NO_SOURCE = "is empty, and so is TrafficSource: every row needs a UTMSource or a TrafficSource"
REASON_TRAFFIC_SOURCE = f"is not one of Metrika's traffic sources: {', '.join(TRAFFIC_SOURCES)}"
REASON_REFERRAL = "is not a domain (e.g. example.com): a referral's detail is the referring site's domain"
REASON_DIRECT_UTM = (
    "is Yandex Direct: Metrika imports Direct's expenses itself, an upload would count them twice and "
    "cannot be deleted; leave Direct's rows out of the input"
)
REASON_DIRECT_DETAIL = (
    "is Yandex Direct (TrafficSource=ad): Metrika imports Direct's expenses itself, an upload would count "
    "them twice and cannot be deleted; leave Direct's rows out of the input"
)
REASON_EXPENSES_EMPTY = "is empty: every row needs its Expenses (0 for a day without spend)"
REASON_EXPENSES_TOO_LARGE = f"is too large: Expenses must be below 10^{MAX_INTEGER_DIGITS}"
REASON_CLICKS = "is not a whole number of clicks, 0 or more"

_DOMAIN = r"^(?:[\pL\pN](?:[\pL\pN-]*[\pL\pN])?\.)+[\pL\pN-]*\pL[\pL\pN-]*$"


def _controls(text: pa.Array, column: str, problems: BatchProblems) -> np.ndarray:
    found = control_rows(text)
    found = np.zeros(len(text), dtype=bool) if found is None else found
    problems.add(column, REASON_CONTROL, found)
    return found


def _mask(array: pa.Array) -> np.ndarray:
    return array.fill_null(False).to_numpy(zero_copy_only=False)


def exact_text(array: pa.Array, column: str, problems: BatchProblems) -> pa.Array:
    """Return a UTM or detail column as text, exactly as given; refuse control characters and spaces around.

    :param array: the column (text or integers).
    :param column: its Metrika name.
    :param problems: where refused values are recorded.
    """
    text = to_text(array, column)
    controls = _controls(text, column, problems)
    spaced = _mask(pc.not_equal(pc.utf8_trim_whitespace(text), text)) & ~controls
    problems.add(column, REASON_SPACES, spaced)
    return text


def need_a_source(utm: pa.Array | None, traffic: pa.Array | None, problems: BatchProblems) -> None:
    """Refuse rows with neither a ``UTMSource`` nor a ``TrafficSource``.

    :param utm: the batch's ``UTMSource`` text, or None without that column.
    :param traffic: the batch's ``TrafficSource`` text, or None without that column.
    :param problems: where refused rows are recorded.
    """
    present = [column for column in (utm, traffic) if column is not None]
    empty = np.ones(len(present[0]), dtype=bool)
    for column in present:
        empty &= _mask(pc.equal(column, ""))
    problems.add(UTM_SOURCE if utm is not None else TRAFFIC_SOURCE, REASON_NO_SOURCE, empty)


def refuse_direct_utm(utm: pa.Array, problems: BatchProblems) -> None:
    """Refuse ``UTMSource`` values that mean Yandex Direct (any case).

    :param utm: the batch's ``UTMSource`` text.
    :param problems: where refused rows are recorded.
    """
    direct = pc.is_in(pc.utf8_lower(utm), pa.array(sorted(DIRECT_UTM_SOURCES)))
    problems.add(UTM_SOURCE, REASON_DIRECT_UTM, _mask(direct))


def traffic_source_column(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return ``TrafficSource`` as given; refuse a value that is not one of Metrika's (empty allowed).

    :param array: the column.
    :param problems: where refused values are recorded.
    """
    text = to_text(array, TRAFFIC_SOURCE)
    known = pc.or_(pc.is_in(text, pa.array(TRAFFIC_SOURCES)), pc.equal(text, ""))
    problems.add(TRAFFIC_SOURCE, REASON_TRAFFIC_SOURCE, ~_mask(known))
    return text


def check_details(
    source: pa.Array, detail: pa.Array, problems: BatchProblems
) -> tuple[np.ndarray, np.ndarray]:
    """Check ``TrafficSourceDetail`` against the source; return the rows with an unknown detail, and
    the rows with a detail for a source that has none (both sent, with a warning).

    :param source: the batch's ``TrafficSource`` text (``""`` where the file has none).
    :param detail: the batch's ``TrafficSourceDetail`` text.
    :param problems: where refused rows are recorded (referral not a domain, Yandex Direct).
    """
    given = ~_mask(pc.equal(detail, ""))
    lower = pc.utf8_lower(detail)
    is_ad = _mask(pc.equal(source, AD))
    direct = is_ad & _mask(pc.is_in(lower, pa.array(sorted(DIRECT_DETAILS))))
    problems.add(TRAFFIC_SOURCE_DETAIL, REASON_DIRECT_DETAIL, direct)
    referral = _mask(pc.equal(source, REFERRAL))
    domain = _mask(pc.match_substring_regex(detail, _DOMAIN))
    problems.add(TRAFFIC_SOURCE_DETAIL, REASON_REFERRAL, referral & given & ~domain)
    unknown = np.zeros(len(detail), dtype=bool)
    for name, details in SOURCE_DETAILS.items():
        listed = _mask(pc.is_in(detail, pa.array(sorted(details))))
        unknown |= _mask(pc.equal(source, name)) & given & ~listed
    tabled = _mask(pc.is_in(source, pa.array([*SOURCE_DETAILS, REFERRAL])))
    without = given & ~tabled
    return unknown & ~direct, without


def expenses_column(array: pa.Array, problems: BatchProblems, decimal: str) -> pa.Array:
    """Return ``Expenses`` as a plain non-negative dot decimal, read as the orders core reads amounts.

    :param array: floats, integers, decimals or text.
    :param problems: where refused values are recorded.
    :param decimal: ``.``, ``,`` or either (see the orders core's ``decimal=``).
    """
    own = BatchProblems(len(array))
    text = normalise_amounts(array, EXPENSES, own, decimal)
    refused = np.zeros(len(array), dtype=bool)
    for column, reason, mask in own.entries:
        problems.add(column, REASON_EXPENSES_TOO_LARGE if reason == REASON_TOO_LARGE else reason, mask)
        refused |= mask
    problems.add(EXPENSES, REASON_EXPENSES_EMPTY, _mask(pc.equal(text, "")) & ~refused)
    return text


def currency_column(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return ISO 4217 alpha-3 codes upper-cased, ``""`` when missing, as the orders core checks them.

    :param array: the column.
    :param problems: where refused values are recorded.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(to_text(array, CURRENCY)))
    valid = pc.or_(pc.match_substring_regex(text, CURRENCY_PATTERN), pc.equal(text, ""))
    problems.add(CURRENCY, REASON_CURRENCY, ~_mask(valid))
    return pc.if_else(valid, text, "")


def clicks_column(array: pa.Array, problems: BatchProblems) -> pa.Array:
    """Return ``Clicks`` as a whole number without leading zeros, ``""`` when missing.

    :param array: integers, whole floats or digit text.
    :param problems: where refused values are recorded.
    """
    if pa.types.is_floating(array.type):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        missing = np.isnan(values)
        whole = (
            ~missing & np.isfinite(values) & (np.floor(values) == values) & (values >= 0) & (values < 2.0**53)
        )
        problems.add(CLICKS, REASON_CLICKS, ~whole & ~missing)
        return pc.if_else(
            pa.array(whole), pa.array(np.where(whole, values, 0).astype(np.int64)).cast(pa.string()), ""
        )
    text = pc.utf8_trim_whitespace(to_text(array, CLICKS))
    digits = _mask(pc.match_substring_regex(text, r"^[0-9]{1,18}$"))
    problems.add(CLICKS, REASON_CLICKS, ~digits & ~_mask(pc.equal(text, "")))
    short = pc.utf8_ltrim(pc.if_else(pa.array(digits), text, ""), "0")
    zero = pc.and_(pa.array(digits), pc.equal(short, ""))
    return pc.if_else(zero, "0", short)
