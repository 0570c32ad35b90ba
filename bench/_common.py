"""Shared helpers of the benchmarks: realistic order data, generated vectorised and reproducibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_DOMAINS = np.array(["yandex.ru", "gmail.com", "mail.ru", "Example.COM", "company.org", "bk.ru"])
_STATUSES = np.array(["PAID", "paid", "IN_PROGRESS", "Cancelled", "CANCELED", "SPAM", "", "", "lead_form_1"])
_GOALS = np.array(["", "", "", "oplata_cash:200", "oplata_cash:200,filial_1", "filial_2", "call_back:99.90"])
_CURRENCIES = np.array(["", "", "RUB", "eur", "USD"])
_PHONE_FORMATS = ("+7 ({a}) {b}-{c}-{d}", "8-{a}-{b}-{c}-{d}", "7{a}{b}{c}{d}", "+7 {a} {b} {c} {d}")


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(str), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _digits(rng: np.random.Generator, rows: int, low: int, high: int, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(rng.integers(low, high, rows)), width, "0")


def _blank(rng: np.random.Generator, values: pa.Array, share: float) -> pa.Array:
    return pc.if_else(pa.array(rng.random(len(values)) < share), "", values)


def _emails(rng: np.random.Generator, rows: int) -> pa.Array:
    first = _join(" User", _text(rng.integers(0, 10**7, rows)), "@", _text(rng.choice(_DOMAINS, rows)))
    second = _join("client.", _text(rng.integers(0, 10**6, rows)), "@", _text(rng.choice(_DOMAINS, rows)))
    multi = pc.binary_join_element_wise(first, second, " , ")
    emails = pc.if_else(pa.array(rng.random(rows) < 0.1), multi, first)
    return _blank(rng, emails, 0.1)


def _phones(rng: np.random.Generator, rows: int) -> pa.Array:
    a, b = _text(rng.integers(900, 1000, rows)), _digits(rng, rows, 0, 1000, 3)
    c, d = _digits(rng, rows, 0, 100, 2), _digits(rng, rows, 0, 100, 2)
    shapes = [
        _join("+7 (", a, ") ", b, "-", c, "-", d),
        _join("8-", a, "-", b, "-", c, "-", d),
        _join("7", a, b, c, d),
        _join("+7 ", a, " ", b, " ", c, " ", d),
    ]
    choice = rng.integers(0, len(shapes), rows)
    phones = shapes[0]
    for index in range(1, len(shapes)):
        phones = pc.if_else(pa.array(choice == index), shapes[index], phones)
    return _blank(rng, phones, 0.2)


def _client_ids(rng: np.random.Generator, rows: int, emails: pa.Array) -> pa.Array:
    first = _text(rng.integers(10**17, 2**63 - 1, rows, dtype=np.int64))
    second = _text(rng.integers(10**9, 10**10, rows))
    ids = pc.if_else(pa.array(rng.random(rows) < 0.2), _join(first, ",", second), first)
    keep = pc.or_(pa.array(rng.random(rows) < 0.5), pc.equal(emails, ""))  # every row keeps an identifier
    return pc.if_else(keep, ids, "")


def _as_pandas(array: pa.Array) -> pd.Series:
    return pd.Series(array.to_pandas(), dtype="str")


def orders_frame(rows: int, seed: int = 7, first_id: int = 0) -> pd.DataFrame:
    """Return ``rows`` realistic orders in all 11 columns of the official sample.

    Multi-value emails and ClientIDs, phones in mixed formats, UTC timestamps, mixed-case statuses,
    goals with prices, currencies and float amounts with some NaN. Ids are unique.

    :param rows: number of orders.
    :param seed: random seed.
    :param first_id: number in the first order's id, so that several frames can have distinct ids.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC").value // 10**9
    emails = _emails(rng, rows)
    revenue = np.round(rng.gamma(2.0, 1500.0, rows), 2)
    revenue[rng.random(rows) < 0.05] = np.nan
    frame = {
        "id": _join(
            "ord-", _digits(rng, rows, 0, 10**9, 9), "-", _text(np.arange(first_id, first_id + rows))
        ),
        "create_date_time": pd.to_datetime(start + rng.integers(0, 300 * 86400, rows), unit="s", utc=True),
        "client_uniq_id": _blank(rng, _join("user", _text(rng.integers(0, 10**6, rows))), 0.3),
        "client_ids": _client_ids(rng, rows, emails),
        "emails": emails,
        "phones": _phones(rng, rows),
        "order_status": _text(rng.choice(_STATUSES, rows)),
        "revenue": revenue,
        "cost": np.round(revenue * 0.6, 2),
        "goals": _text(rng.choice(_GOALS, rows)),
        "currency": _text(rng.choice(_CURRENCIES, rows)),
    }
    return pd.DataFrame(
        {name: _as_pandas(value) if isinstance(value, pa.Array) else value for name, value in frame.items()}
    )


def human_bytes(size: float) -> str:
    """Return a size as ``1.23 GB`` style text (powers of 1000).

    :param size: bytes.
    """
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return f"{size:.2f} GB"


def parse_size(text: str) -> int:
    """Parse ``300MB``, ``1GB`` or a plain byte count.

    :param text: the size.
    """
    text = text.strip().upper()
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3), ("B", 1)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)
