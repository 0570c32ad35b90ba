"""Mask customer data (emails, phones, customer ids) before it reaches a log, an error or XCom."""

from __future__ import annotations

import re

#: Longest value shown in a report: a whole cell can be arbitrarily long.
MAX_SHOWN_CHARS = 80

_EMAIL_COLUMNS = frozenset({"emails"})
_PHONE_COLUMNS = frozenset({"phones"})
#: Columns whose values say nothing about a customer; any other column is masked whole.
_READABLE_COLUMNS = frozenset(
    {"id", "create_date_time", "order_status", "revenue", "cost", "goals", "currency", "identifiers"}
)
_PHONE_PUNCTUATION = frozenset(" +()-.")
#: A domain shown as it is: letters, digits, dots and hyphens, one letter at least. Anything else after
#: an ``@`` (``@+7 (999) 555-11-11``) may be a customer's phone and is masked like one.
DOMAIN_PATTERN = r"[\pL\pN_.\-]*\pL[\pL\pN_.\-]*"
_DOMAIN_RE = re.compile(r"[\w.-]*[^\W\d_][\w.-]*")  # the same in Python's syntax


def mask_email(value: str) -> str:
    """Keep the local part's first character and the domain: ``mail@example.com`` -> ``m***@example.com``.

    A "domain" that is not one (no letter, or other signs than dots and hyphens) is masked as a phone.

    :param value: an email, valid or not.
    """
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return f"{domain[:1]}***" if domain else ""
    if not _DOMAIN_RE.fullmatch(domain):
        return mask_phone(value)
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """Keep the first two and last two characters: ``79995551111`` -> ``79*******11``.

    :param value: a phone, normalised or not.
    """
    text = value.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def _looks_like_phone(value: str) -> bool:
    # 11+ digits, or 10 behind a "+" or a bracket; a 10-digit Unix timestamp stays readable.
    text = value.strip()
    digits = sum(char.isdigit() for char in text)
    if not all(char.isdigit() or char in _PHONE_PUNCTUATION for char in text) or digits > 15:
        return False
    return digits >= 11 or (digits == 10 and any(char in "+(" for char in text))


def _mask_part(part: str, column: str) -> str:
    if column in _EMAIL_COLUMNS or "@" in part:
        return mask_email(part)
    if column in _PHONE_COLUMNS or column not in _READABLE_COLUMNS or _looks_like_phone(part):
        return mask_phone(part)
    return part


def escape_controls(value: str) -> str:
    """Show control characters as ``\\xNN`` escapes, so that a log line stays one visible line.

    :param value: any text.
    """
    if value.isprintable():
        return value
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in value)


def mask_value(value: str, column: str) -> str:
    """Mask a cell for display, whatever column it sits in.

    Emails keep their first character and domain, phones and customer identifiers their first and
    last two characters. Order ids, dates, statuses, amounts, goals and currencies stay readable,
    unless a value among them looks like an email (holds ``@``) or a phone (11 to 15 digits, or 10
    behind ``+``).

    :param value: the cell as text; several values are comma-joined.
    :param column: the Metrika column the cell belongs to.
    """
    shown = escape_controls(",".join(_mask_part(part, column) for part in value.split(",")))
    if len(shown) > MAX_SHOWN_CHARS:
        return shown[: MAX_SHOWN_CHARS - 3] + "..."
    return shown
