"""Mask personal data (emails, phones) before it reaches a log, an error or XCom."""

from __future__ import annotations

#: Longest value shown in a report: a whole cell can be arbitrarily long.
MAX_SHOWN_CHARS = 80

_EMAIL_COLUMNS = frozenset({"emails"})
_PHONE_COLUMNS = frozenset({"phones"})


def mask_email(value: str) -> str:
    """Keep the local part's first character and the domain: ``mail@example.com`` -> ``m***@example.com``.

    :param value: an email, valid or not.
    """
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return f"{domain[:1]}***" if domain else ""
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """Keep the first two and last two characters: ``79995551111`` -> ``79*******11``.

    :param value: a phone, normalised or not.
    """
    text = value.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def mask_value(value: str, column: str) -> str:
    """Mask a cell for display: emails and phones per value, anything holding ``@`` as an email.

    :param value: the cell as text; several values are comma-joined.
    :param column: the Metrika column the cell belongs to.
    """
    if column in _PHONE_COLUMNS:
        shown = ",".join(mask_phone(part) for part in value.split(","))
    elif column in _EMAIL_COLUMNS or "@" in value:
        shown = ",".join(
            mask_email(part) if "@" in part or column in _EMAIL_COLUMNS else part for part in value.split(",")
        )
    else:
        shown = value
    if len(shown) > MAX_SHOWN_CHARS:
        return shown[: MAX_SHOWN_CHARS - 3] + "..."
    return shown
