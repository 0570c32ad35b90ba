"""
An independent reading of the simplified-orders rules, one row at a time in plain Python.

Written from the documented rules (Metrika's format page and the README's "What validation does"),
not from the core's code: no regex or helper of the core is imported. The property tests compare the
core's vectorised output with it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

DIGITS = "0123456789"
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 20
GROUP_SEPARATORS = " \u00a0\u202f'\u2019"
EXTENSION_WORDS = ("доб", "вн", "ext")


@dataclass(frozen=True)
class Options:
    """The preparation options a generated example uses."""

    timezone: str
    source_timezone: str
    decimal: str  # ".", "," or "either"
    hash_identifiers: bool
    rewrite_leading_8: bool
    now: dt.datetime


def has_control(value: str) -> bool:
    """Tell whether the value holds a character of Unicode category Cc."""
    return any(unicodedata.category(char) == "Cc" for char in value)


def _strip(value: str) -> str:
    return value.strip()  # Unicode whitespace, as the docs' "trim" means


def _values(cell: str) -> list[str]:
    return [part for part in (_strip(piece) for piece in cell.split(",")) if part]


# -- emails ---------------------------------------------------------------------------------------


def email(value: str) -> str | None:
    """Return the email lowercased, or None when it is not one @ before a dotted domain."""
    text = value.lower()
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    forbidden = set(' ",;\t\n\r\f\v') | {c for c in text if c.isspace()}
    if not local or any(char in forbidden for char in text):
        return None
    labels = domain.split(".")
    if len(labels) < 2 or any(not label for label in labels):
        return None
    return text


# -- phones ---------------------------------------------------------------------------------------


def _is_extension(value: str) -> bool:
    text = value.rstrip()
    if text.endswith(")"):
        return True
    end = len(text)
    while end and text[end - 1] in DIGITS:
        end -= 1
    if end == len(text):
        return False
    before = text[:end]
    while before and (before[-1].isspace() or before[-1] in ".:"):
        before = before[:-1]
    if before.endswith("#"):
        return True
    if before.lower().endswith("x") and (len(before) == 1 or not before[-2].isalpha()):
        return True
    letters = len(before)
    while letters and (before[letters - 1].isalpha() or before[letters - 1] == "."):
        letters -= 1
    tail = before[letters:].lower()
    return any(word in tail for word in EXTENSION_WORDS)


def _is_several(value: str) -> bool:
    tokens = re.split(r"[\s;]+", value)
    return sum(1 for token in tokens if sum(ch in DIGITS for ch in token) >= 7) >= 2


def phone(value: str, rewrite_leading_8: bool) -> str | None:
    """Return the phone as its digits, or None when it is not one phone number."""
    if _is_extension(value) or _is_several(value):
        return None
    digits = "".join(ch for ch in value if not (ch in "+()-." or ch.isspace()))
    if not 7 <= len(digits) <= 15 or any(ch not in DIGITS for ch in digits):
        return None
    if not plan_allows(digits):
        return None
    if rewrite_leading_8 and len(digits) == 11 and digits[0] == "8" and digits[1] not in "012":
        digits = "7" + digits[1:]
    return digits


# -- phones under the numbering plan ---------------------------------------------------------------

#: Three-digit starts that no assigned E.164 country code covers (ITU's spare codes), written as
#: ranges: the complement of the core's table of assigned codes.
_SPARE_RANGES = (
    (0, 99), (210, 210), (214, 215), (217, 217), (219, 219), (259, 259), (280, 289), (292, 296),
    (384, 384), (422, 422), (424, 429), (671, 671), (684, 684), (693, 699), (801, 807), (809, 809),
    (830, 839), (851, 851), (854, 854), (857, 859), (871, 877), (879, 879), (884, 885), (887, 887),
    (889, 899), (969, 969), (978, 978), (990, 990), (997, 997), (999, 999),
)  # fmt: skip
_TWO_DIGIT_CODES = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
    "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
}  # fmt: skip
#: Countries whose numbers never have a 0 right after the country code (a trunk 0 left in).
_NO_ZERO_AFTER = {
    "20", "27", "31", "32", "33", "34", "36", "41", "43", "44", "46", "49", "61", "64", "81", "82", "86",
    "90", "91", "353", "380", "972",
}  # fmt: skip


def _spare(digits: str) -> bool:
    start = int(digits[:3])
    return any(low <= start <= high for low, high in _SPARE_RANGES)


def _country_code(digits: str) -> str:
    if digits[0] in "17":
        return digits[0]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def plan_allows(digits: str) -> bool:
    """Tell whether 7 to 15 digits, as typed (before any rewrite), can be a real number.

    Refused: a 00 or 0 prefix, the 810 prefix, +7 numbers of other than 11 digits, +1 numbers of other
    than 11 digits or with an area code or exchange starting 0 or 1, a 0 after the code of a country
    whose numbers never start with 0.
    """
    if digits.startswith("0") or digits.startswith("810"):
        return False
    if digits[0] == "7" and len(digits) != 11:
        return False
    if digits[0] == "1" and (len(digits) != 11 or digits[1] in "01" or digits[4] in "01"):
        return False
    return not any(digits.startswith(code + "0") for code in _NO_ZERO_AFTER)


def suspicious_phone(digits: str) -> bool:
    """Tell whether a phone as sent (after any rewrite) is unlikely: spare code, short, code twice."""
    if len(digits) < 8:
        return True
    if digits[0] == "8" and len(digits) == 11 and digits[1] not in "012":
        return False  # Russian domestic form: the domestic_phones warning
    if _spare(digits):
        return True
    code = _country_code(digits)
    return len(code) > 1 and digits[len(code) : 2 * len(code)] == code


# -- amounts --------------------------------------------------------------------------------------


def _plain(number: Decimal) -> str | None:
    """Write a non-negative number out by hand, digit for digit (nothing rounds); None when out of bounds."""
    _, digits, exponent = number.as_tuple()
    all_digits = "".join(map(str, digits))
    point = len(all_digits) + int(exponent)
    if point <= 0:
        whole, fraction = "0", "0" * -point + all_digits
    elif point >= len(all_digits):
        whole, fraction = all_digits + "0" * (point - len(all_digits)), ""
    else:
        whole, fraction = all_digits[:point], all_digits[point:]
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    if len(whole) > MAX_INTEGER_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
        return None
    return whole + ("." + fraction if fraction else "")


_DOT_NUMBER = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED = re.compile(
    rf"[+-]?(?:[0-9]{{1,3}}(?:[{GROUP_SEPARATORS}][0-9]{{3}})+|[0-9]+)(?:,[0-9]*)?|[+-]?,[0-9]+"
)
_AMBIGUOUS = re.compile(r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}")


def amount(value: str, decimal: str) -> str | None:
    """Return revenue or cost as a plain decimal, ``""`` when empty, None when refused."""
    text = _strip(value)
    if not text:
        return ""
    if decimal == "either" and _AMBIGUOUS.fullmatch(text):
        return None
    if decimal in (",", "either") and _GROUPED.fullmatch(text):
        text = text.translate({ord(c): None for c in GROUP_SEPARATORS}).replace(",", ".")
    elif decimal == "," and "." in text:
        return None
    # One leading plus sign is a sign; "++1" is no number.
    if text.startswith("-") or not _DOT_NUMBER.fullmatch(text):
        return None
    mantissa, _, exponent = text.removeprefix("+").lower().partition("e")
    if exponent and abs(int(exponent)) > 10_000:
        # Far beyond both bounds either way, unless the mantissa is zero.
        return "0" if not mantissa.replace(".", "").strip("0") else None
    try:
        number = Decimal(text.removeprefix("+"))
    except InvalidOperation:
        return None
    return _plain(number)


def currency(value: str) -> str | None:
    """Return the currency upper-cased, ``""`` when empty, None when not three letters A-Z."""
    text = _strip(value).upper()
    if not text:
        return ""
    if len(text) == 3 and all("A" <= ch <= "Z" for ch in text):
        return text
    return None


# -- ClientIDs, MD5 hashes, statuses, goals ------------------------------------------------------

#: The order statuses and their accepted spellings; any other value must be a goal identifier.
STATUSES = {
    "PAID": "PAID",
    "IN_PROGRESS": "IN_PROGRESS",
    "CANCELLED": "CANCELLED",
    "CANCELED": "CANCELLED",
    "SPAM": "SPAM",
}
_GOAL_ID = re.compile(r"[A-Za-z0-9_]+")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def client_id(value: str) -> str | None:
    """Return a ClientID as given, or None when it is not ASCII digits only."""
    return value if all(ch in DIGITS for ch in value) else None


def md5_value(value: str) -> str | None:
    """Return a given MD5 hash lowercased, or None when it is not 32 hexadecimal digits."""
    return value.lower() if _HEX32.fullmatch(value) else None


def _upper(text: str) -> str:
    # One character for one, as the docs' "any case" compares: no "ß" -> "SS".
    return "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in text)


def order_status(value: str) -> str | None:
    """Return a status in Metrika's spelling, a goal identifier as given, ``""`` when empty, or None."""
    text = _strip(value)
    if _upper(text) in STATUSES:
        return STATUSES[_upper(text)]
    if not text or _GOAL_ID.fullmatch(text):
        return text
    return None


# -- dates ----------------------------------------------------------------------------------------

_DOTTED = re.compile(r"(\d\d)\.(\d\d)\.(\d{4}|\d\d)(?: (\d\d):(\d\d)(?::(\d\d))?)?")
_DASHED = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:[.,]\d+)?)?"
    r"([Zz]|[+-]\d\d(?::?\d\d)?)?)?"
)


def _offset(zone: str) -> int:
    if zone in ("Z", "z"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def _resolve_naive(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return the UTC instant of a wall-clock time: a skipped time moves to the gap's end."""
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(dt.UTC)
    probe = wall.replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        probe += dt.timedelta(minutes=1)
        candidate = probe.replace(tzinfo=zone, fold=0)
        if candidate.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("no end of gap found")


def create_date_time(value: str, options: Options) -> str | None:
    """Return the date as Metrika will read it in the counter's zone, or None when refused."""
    text = _strip(value)
    parts: list[str | None]
    zone = None
    dotted, dashed = _DOTTED.fullmatch(text), _DASHED.fullmatch(text)
    if dotted:
        day, month, year, *clock = dotted.groups()
        parts = [year if len(year) == 4 else "20" + year, month, day, *clock]
    elif dashed:
        year, month, day, hour, minute, second, zone = dashed.groups()
        parts = [year, month, day, hour, minute, second]
    else:
        return None
    year_, month_, day_ = (int(p) for p in parts[:3])  # type: ignore[arg-type]
    has_time = parts[3] is not None
    hour, minute, second = (int(p) if p else 0 for p in parts[3:6])
    try:
        wall = dt.datetime(year_, month_, day_, hour, minute, second)
    except ValueError:
        return None
    counter = ZoneInfo(options.timezone)
    if zone is not None:
        instant = wall.replace(tzinfo=dt.UTC) - dt.timedelta(seconds=_offset(zone))
        wall = instant.astimezone(counter).replace(tzinfo=None)
    elif has_time and options.source_timezone != options.timezone:
        wall = (
            _resolve_naive(wall, ZoneInfo(options.source_timezone)).astimezone(counter).replace(tzinfo=None)
        )
    seconds = calendar.timegm(wall.timetuple()) if has_time else calendar.timegm(wall.date().timetuple())
    latest_wall = (options.now + dt.timedelta(days=1)).astimezone(counter).replace(tzinfo=None)
    if seconds < 0 or seconds > calendar.timegm(latest_wall.timetuple()):
        return None
    return wall.strftime("%Y-%m-%d %H:%M:%S") if has_time else wall.strftime("%Y-%m-%d")


# -- rows -----------------------------------------------------------------------------------------


def _md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


#: Columns that identify the customer, in the documented order.
IDENTIFIERS = ("client_ids", "emails", "phones", "emails_md5", "phones_md5")


def _identifier(column: str, value: str, options: Options) -> str | None:
    if column == "emails":
        return email(value)
    if column == "phones":
        return phone(value, options.rewrite_leading_8)
    if column == "client_ids":
        return client_id(value)
    return md5_value(value)


def expected_row(cells: dict[str, str], options: Options) -> tuple[dict[str, str], set[str]]:
    """Return the row as it must be written, and the columns refused (empty when the row is valid).

    :param cells: input column -> cell text.
    :param options: the example's options.
    """
    out: dict[str, str] = {}
    refused = {column for column, cell in cells.items() if has_control(cell)}
    out["id"] = cells.get("id", "")
    date = create_date_time(cells.get("create_date_time", ""), options)
    if date is None:
        refused.add("create_date_time")
    out["create_date_time"] = date or ""
    identified = False
    written: dict[str, list[str]] = {}
    for column in IDENTIFIERS:
        if column not in cells:
            continue
        values = _values(cells[column])
        identified |= bool(values)
        normal = [_identifier(column, v, options) for v in values]
        if any(v is None for v in normal):
            refused.add(column)
            continue
        hashed = options.hash_identifiers and column in ("emails", "phones")
        # Hashed emails go to emails_md5, ahead of the hashes the input gives there.
        target = f"{column}_md5" if hashed else column
        written.setdefault(target, []).extend(_md5(v) if hashed else v for v in normal if v)
    out.update({column: ",".join(values) for column, values in written.items()})
    if not identified:
        refused.add("identifiers")
    if "order_status" in cells:
        status = order_status(cells["order_status"])
        if status is None:
            refused.add("order_status")
        out["order_status"] = status or ""
    if "goals" in cells:
        listed = goals(cells["goals"], options.decimal)
        if listed is None:
            refused.add("goals")
        out["goals"] = listed or ""
    for column in ("revenue", "cost"):
        if column in cells:
            value = amount(cells[column], options.decimal)
            if value is None:
                refused.add(column)
            out[column] = value or ""
    if "currency" in cells:
        code = currency(cells["currency"])
        if code is None:
            refused.add("currency")
        out["currency"] = code or ""
    return out, refused


# -- goal prices under the file's decimal separator --------------------------------------------------

_GOAL_ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _ends_with_price(piece: str) -> bool:
    """Tell whether text ends with ``:`` and digits, nothing after them (not even a space)."""
    _, colon, price = piece.rpartition(":")
    return bool(colon) and bool(price) and all(ch in DIGITS for ch in price)


def _digits_item(piece: str) -> bool:
    """Tell whether a list item starts right away with digits and holds nothing else but trailing spaces."""
    body = piece.rstrip()
    return bool(body) and body == piece[: len(body)] and all(ch in DIGITS for ch in body)


def _plain_price(price: str) -> str:
    whole, _, fraction = price.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return whole + ("." + fraction if fraction else "")


def goals(cell: str, decimal: str) -> str | None:
    """Return a text ``goals`` cell as sent (``""`` when empty), or None when it is refused.

    With a decimal comma (``decimal`` ``,`` or ``either``) a comma right after a price's digits and right
    before an item of digits only (``oplata:4590,50``) reads two ways and is refused, and so is a price
    of 1-3 digits, a dot and exactly 3 digits (``1.234``). Otherwise each item is ``id[:price]``, the
    price written without leading or trailing zeros.
    """
    pieces = cell.split(",")
    if decimal != ".":
        for index in range(1, len(pieces)):
            if _ends_with_price(pieces[index - 1]) and _digits_item(pieces[index]):
                return None
    sent = []
    for item in (_strip(piece) for piece in pieces):
        if not item:
            continue
        goal, colon, price = item.partition(":")
        if not goal or any(ch not in _GOAL_ID_CHARS for ch in goal):
            return None
        if not colon:
            sent.append(goal)
            continue
        whole, dot, fraction = price.partition(".")
        if not whole or any(ch not in DIGITS for ch in whole + fraction) or (dot and not fraction):
            return None
        if decimal != "." and dot and len(fraction) == 3 and 1 <= len(whole) <= 3 and whole[0] != "0":
            return None
        sent.append(f"{goal}:{_plain_price(price)}")
    return ",".join(sent)
