"""Check phones against the international numbering plan (ITU-T E.164): country codes, lengths, prefixes.

A phone is sent as its digits, country code first. Digits that cannot be a real number (a dialling
prefix left in front, a trunk prefix left after the country code, a +7 or +1 number of the wrong
length) are refused with the fix; digits that are only unlikely (a country code no country uses, fewer
than 8 digits, the country code written twice) are sent with the ``suspicious_phones`` warning. No
number is ever rewritten into another one. Vectorised over the first digits of each value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from airflow_provider_metrika.simple_orders.bytes_ops import lengths, string_buffers
from airflow_provider_metrika.simple_orders.text import MultiValues


def _codes(text: str) -> frozenset[str]:
    """Return the country codes of a space-separated list."""
    return frozenset(text.split())


#: Country codes assigned by ITU-T E.164 (Recommendation E.164 Annex / Operational Bulletin list),
#: the global services (800, 808, 870, 878, 881-883, 888, 979, 991) included.
COUNTRY_CODES = _codes(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 "
    "66 81 82 84 86 90 91 92 93 94 95 98 "
    "211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 "
    "239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 "
    "264 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 "
    "373 374 375 376 377 378 379 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 "
    "506 507 508 509 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 "
    "681 682 683 685 686 687 688 689 690 691 692 800 808 850 852 853 855 856 870 878 880 881 882 883 "
    "886 888 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 991 992 993 994 "
    "995 996 998"
)
#: Countries whose national numbers never begin with 0 (their 0 is a domestic trunk prefix only):
#: ``+44 0 20 ...`` and ``+49 0 30 ...`` cannot be real. Italy (39) and others keep a leading 0.
TRUNK_ZERO_CODES = _codes("20 27 31 32 33 34 36 41 43 44 46 49 61 64 81 82 86 90 91 353 380 972")
#: The fewest digits of a number written with its country code that is likely real (E.164 allows
#: fewer only for a few small territories); the most is E.164's 15, enforced by the phone check.
MIN_LIKELY_DIGITS = 8

REASON_INTERNATIONAL_PREFIX = (
    "starts with 00, an international dialling prefix: write the number from its country code, "
    "without the prefix (0049 30 ... -> +49 30 ...)"
)
REASON_TRUNK_PREFIX = (
    "starts with 0, a domestic trunk prefix, and so has no country code: write the country code "
    "instead of the 0 (030 ... in Germany -> +49 30 ...)"
)
REASON_RUSSIAN_INTERNATIONAL_PREFIX = (
    "starts with 810, the Russian international dialling prefix 8-10 (or Japan's 81 followed by its "
    "trunk 0): write the number from its country code, without the prefix "
    "(8 10 49 30 ... -> +49 30 ...)"
)
REASON_SEVEN_LENGTH = (
    "starts with country code 7 (Russia, Kazakhstan), whose numbers are 7 + 10 digits, but has "
    "another number of digits: remove a doubled country code (7 7 916 ... -> 7 916 ...) or the trunk 8 "
    "left after it (+7 8 916 ... -> +7 916 ...), or restore the missing digits"
)
REASON_NANP = (
    "starts with country code 1 (USA, Canada and the other NANP countries), whose numbers are 1 + 10 "
    "digits with an area code and an exchange starting with 2 to 9: remove a doubled 1 "
    "(1 1 212 ... -> 1 212 ...) and check the number"
)
REASON_TRUNK_AFTER_CODE = (
    "has 0 right after its country code, a domestic trunk prefix left in: remove the 0 "
    "(+44 0 20 ... -> +44 20 ..., +49 0 30 ... -> +49 30 ...)"
)

#: How many leading digits the checks read; a value they look at has at least 7 digits.
_LEAD = 6


def _code_lengths() -> np.ndarray:
    """Map the first three digits (0-999) to the length of the assigned country code they start with."""
    table = np.zeros(1000, dtype=np.int8)
    for code in COUNTRY_CODES:
        scale = 10 ** (3 - len(code))
        table[int(code) * scale : (int(code) + 1) * scale] = len(code)
    return table


def _trunk_zero_table() -> np.ndarray:
    """Flag the first four digits (0-9999) of a value that has a trunk 0 after a country code."""
    table = np.zeros(10_000, dtype=bool)
    for code in TRUNK_ZERO_CODES:
        scale = 10 ** (3 - len(code))
        table[int(code) * 10 * scale : (int(code) * 10 + 1) * scale] = True
    return table


_CODE_LENGTH = _code_lengths()
_TRUNK_ZERO = _trunk_zero_table()


def _leading(digits: pa.Array, checked: np.ndarray) -> np.ndarray:
    """Return the first :data:`_LEAD` digits of each checked value as integers (-1 elsewhere), one row each.

    :param digits: the values; each checked one holds at least :data:`_LEAD` ASCII digits.
    :param checked: the values to read.
    """
    lead = np.full((_LEAD, len(digits)), -1, dtype=np.int16)
    offsets, data = string_buffers(digits)
    if checked.any() and len(data):
        starts = offsets[:-1]
        for position in range(_LEAD):
            index = np.minimum(starts + position, len(data) - 1)
            lead[position] = np.where(checked, data[index].astype(np.int16) - ord("0"), -1)
    return lead


def _first(lead: np.ndarray, count: int) -> np.ndarray:
    """Return the number the first ``count`` digits form (-1 where a value was not read)."""
    number = np.zeros(lead.shape[1], dtype=np.int32)
    for position in range(count):
        number = number * 10 + lead[position]
    return np.where(lead[0] >= 0, number, -1)


def plan_problems(digits: pa.Array, checked: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Return, per refusal reason, the values whose digits cannot be a real number.

    Read before ``rewrite_leading_8``: 8 + 10 digits is the Russian domestic form (the
    ``domestic_phones`` warning or the rewrite), checked only for the ``810`` prefix.

    :param digits: phone values reduced to digits, as typed.
    :param checked: the values that are otherwise valid phones (7 to 15 ASCII digits).
    """
    lead = _leading(digits, checked)
    sizes = lengths(digits)
    first = lead[0]
    international = checked & (first == 0) & (lead[1] == 0)
    trunk = checked & (first == 0) & ~international
    russian = checked & (_first(lead, 3) == 810)
    seven = checked & (first == 7) & (sizes != 11)
    nanp = checked & (first == 1) & ((sizes != 11) | (lead[1] < 2) | (lead[4] < 2))
    after_code = checked & (first > 0) & _TRUNK_ZERO[np.maximum(_first(lead, 4), 0)]
    found = [
        (REASON_INTERNATIONAL_PREFIX, international),
        (REASON_TRUNK_PREFIX, trunk),
        (REASON_RUSSIAN_INTERNATIONAL_PREFIX, russian),
        (REASON_SEVEN_LENGTH, seven),
        (REASON_NANP, nanp),
        (REASON_TRUNK_AFTER_CODE, after_code & ~russian),
    ]
    return [(reason, mask) for reason, mask in found if mask.any()]


def suspicious_phones(digits: pa.Array) -> np.ndarray:
    """Flag phones that may be real but are unlikely: an unused country code, under 8 digits, a doubled code.

    :param digits: valid phone values (7 to 15 digits), as sent (after ``rewrite_leading_8``).
    """
    sizes = lengths(digits)
    lead = _leading(digits, sizes >= _LEAD)
    code = _first(lead, 3)
    known = (code >= 0) & (code < len(_CODE_LENGTH))  # other bytes than digits: an invalid value anyway
    code_length = np.where(known, _CODE_LENGTH[np.clip(code, 0, len(_CODE_LENGTH) - 1)], 0)
    domestic = (lead[0] == 8) & (lead[1] >= 3) & (sizes == 11)  # domestic_phones names these
    unknown = known & (code_length == 0) & ~domestic
    doubled = ((code_length == 2) & (lead[0] == lead[2]) & (lead[1] == lead[3])) | (
        (code_length == 3) & (code == _first(lead[3:], 3))
    )
    return unknown | (known & (sizes < MIN_LIKELY_DIGITS)) | doubled


def suspicious_phone_rows(phones: MultiValues, rows: int) -> np.ndarray:
    """Return a mask of the rows holding at least one phone :func:`suspicious_phones` flags.

    :param phones: normalised phones (digits only) of a batch.
    :param rows: rows in the batch.
    """
    mask = np.zeros(rows, dtype=bool)
    if len(phones.values):
        valid = suspicious_phones(phones.values)
        mask[phones.parents[valid]] = True
    return mask
