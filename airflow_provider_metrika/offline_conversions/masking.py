"""Mask the customer values of a conversion or call before they reach a message or a log."""

from __future__ import annotations

from airflow_provider_metrika.offline_conversions.columns import (
    CLIENT_ID,
    PHONE_NUMBER,
    PURCHASE_ID,
    URL_COLUMNS,
    USER_ID,
    YCLID,
)
from airflow_provider_metrika.simple_orders.masking import (
    MAX_SHOWN_CHARS,
    escape_controls,
    mask_phone,
    mask_value,
)

#: Columns holding a customer's identity, or free text that may name one (``Tag``), masked whole.
PERSONAL_COLUMNS = frozenset({CLIENT_ID, USER_ID, YCLID, PURCHASE_ID, PHONE_NUMBER, "Tag"})
#: An orders column the orders core shows as it is unless a value looks like an email or a phone.
_READABLE_LIKE = "order_status"


def _mask_url(value: str) -> str:
    """Keep the scheme, host and path; the query and fragment may carry customer data."""
    cut = min((index for index in (value.find("?"), value.find("#")) if index >= 0), default=-1)
    head, tail = (value, "") if cut < 0 else (value[:cut], value[cut] + "***")
    scheme, sep, rest = head.partition("://")
    if "@" in rest:  # user information in the authority: a login or an email
        rest = "***@" + rest.rpartition("@")[2]
    return f"{scheme}{sep}{rest}{tail}" if sep else mask_value(head, _READABLE_LIKE) + tail


def mask_cell(value: str, column: str) -> str:
    """Return a cell fit to show: identifiers and phones masked, URLs without their query string.

    Other columns (Target, DateTime, amounts, flags) are shown, except a value that looks like an
    email or a phone number; ``Tag`` is free text and masked whole.

    :param value: the cell as text.
    :param column: the Metrika column it belongs to.
    """
    if column == PHONE_NUMBER:
        return escape_controls(mask_phone(value))
    if column in PERSONAL_COLUMNS:
        return mask_value(value.replace(",", " "), USER_ID)
    if column in URL_COLUMNS:
        shown = escape_controls(_mask_url(value.strip()))
        return shown if len(shown) <= MAX_SHOWN_CHARS else shown[: MAX_SHOWN_CHARS - 3] + "..."
    return mask_value(value, _READABLE_LIKE)
