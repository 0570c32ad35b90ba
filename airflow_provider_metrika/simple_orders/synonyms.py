"""Recognise Metrika columns spelled another way or in Russian, to suggest renames that cannot hurt.

Only names that clearly mean one Metrika column are listed. Names that could mean two (``client_id``:
Metrika's ClientID or the CRM's customer id?) or something close but different (``amount``, ``total``,
``discount``) are left out on purpose: a wrong rename would send wrong data without any error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from airflow_provider_metrika.simple_orders.columns import SIMPLE_ORDERS_COLUMNS

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "id": (
        "orderid",
        "ordernumber",
        "orderno",
        "номерзаказа",
        "idзаказа",
        "кодзаказа",
        "заказ",
        "заказid",
        "заказ№",
        "№заказа",
    ),
    "create_date_time": (
        "createdatetime",
        "createdat",
        "created",
        "creationdate",
        "orderdate",
        "orderdatetime",
        "orderdatecreated",
        "datecreated",
        "дата",
        "датазаказа",
        "датасоздания",
        "датаивремя",
        "датаивремязаказа",
        "датасозданиязаказа",
        "создан",
    ),
    "client_uniq_id": (
        "clientuniqid",
        "customerid",
        "crmclientid",
        "idклиента",
        "кодклиента",
        "idпокупателя",
        "кодпокупателя",
    ),
    "client_ids": ("clientids", "metrikaclientid", "ymclientid", "yclientid", "clientidметрики"),
    "emails": ("email", "emails", "mail", "почта", "электроннаяпочта", "емейл", "имейл", "эпочта"),
    "phones": (
        "phone",
        "phones",
        "phonenumber",
        "mobile",
        "mobilephone",
        "телефон",
        "телефоны",
        "тел",
        "мобильный",
        "мобильныйтелефон",
        "номертелефона",
    ),
    "emails_md5": ("emailmd5", "emailsmd5", "emailhash"),
    "phones_md5": ("phonemd5", "phonesmd5", "phonehash"),
    "order_status": ("status", "orderstatus", "статус", "статусзаказа"),
    "revenue": ("revenue", "orderrevenue", "выручка", "сумма", "суммазаказа", "стоимостьзаказа"),
    "cost": ("cost", "costprice", "себестоимость"),
    "goals": ("goals", "цели"),
    "currency": ("currency", "currencycode", "валюта", "кодвалюты"),
}

#: Folded spelling -> Metrika column.
SYNONYMS: dict[str, str] = {
    spelling: column for column, spellings in _SPELLINGS.items() for spelling in spellings
} | {column.replace("_", ""): column for column in SIMPLE_ORDERS_COLUMNS}

_NOISE = re.compile(r"[\s_\-.:/()\"'«»]+")


def fold(name: str) -> str:
    """Return a column name lower-cased, ``ё`` as ``е``, without spaces, underscores, dashes or dots.

    :param name: an input column name.
    """
    return _NOISE.sub("", name.strip().lower().replace("ё", "е"))


def competing_names(unknown: Iterable[str], present: Iterable[str]) -> dict[str, list[str]]:
    """Return Metrika column -> the unknown input columns that each look like it, where there are several.

    :param unknown: input columns that are not Metrika's.
    :param present: Metrika columns the input already has (after ``columns=`` renames).
    """
    found = _candidates(unknown, present)
    return {column: names for column, names in found.items() if len(names) > 1}


def _candidates(unknown: Iterable[str], present: Iterable[str]) -> dict[str, list[str]]:
    taken = set(present)
    found: dict[str, list[str]] = {}
    for name in unknown:
        column = SYNONYMS.get(fold(name))
        if column is not None and column not in taken:
            found.setdefault(column, []).append(name)
    return found


def suggest_renames(unknown: Iterable[str], present: Iterable[str]) -> dict[str, str]:
    """Return input column -> Metrika column for the unknown columns that clearly are one.

    A column is suggested only if no other input column already is, or would be suggested as, the
    same Metrika column.

    :param unknown: input columns that are not Metrika's.
    :param present: Metrika columns the input already has (after ``columns=`` renames).
    """
    found = _candidates(unknown, present)
    return {names[0]: column for column, names in found.items() if len(names) == 1}
