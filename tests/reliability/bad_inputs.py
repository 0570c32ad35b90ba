"""Bad order files for the catalogue test: each one's file, operator options and what the log must say."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER = "id,create_date_time,emails,phones,revenue\n"
GOOD_ROW = "g-1,2024-01-09 10:00:00,good.buyer@example.com,79990001111,10\n"


@dataclass(frozen=True)
class BadFile:
    """
    An orders file the upload operator must refuse before sending anything.

    :param task_id: the task reading it (also its file name).
    :param content: the file's bytes.
    :param expected: text its task's log must show (the reason, the row).
    :param secret: raw PII in the file that must not show in the log.
    :param options: extra operator arguments.
    """

    task_id: str
    content: bytes
    expected: tuple[str, ...]
    secret: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _rows(*rows: str, extra: tuple[str, str] | None = None) -> bytes:
    """Write the header and a good row (with an extra column and its good value, if any), then ``rows``."""
    header, good = HEADER, GOOD_ROW
    if extra:
        header = f"{HEADER.strip()},{extra[0]}\n"
        good = f"{GOOD_ROW.strip()},{extra[1]}\n"
    return (header + good + "".join(r + "\n" for r in rows)).encode()


BAD_FILES = [
    BadFile("pre_1970", _rows("b-2,1969-12-31,old.buyer@example.com,,5"), ("row 2", "before 1970-01-01")),
    BadFile("unparsable_date", _rows("b-2,yesterday,x.buyer@example.com,,5"), ("row 2", "is not a date")),
    BadFile(
        "bad_email",
        _rows("b-2,2024-01-09,secret.person@nodomain,,5"),
        ("row 2", "column emails", "is not a valid email", "s***@nodomain"),
        secret="secret.person@nodomain",
    ),
    BadFile(
        "bad_phone",
        _rows("b-2,2024-01-09,,+7 999 12,5"),
        ("row 2", "column phones", "is not a valid phone"),
        secret="+7 999 12",
    ),
    BadFile("no_identifier", _rows("b-2,2024-01-09,,,5"), ("row 2", "has no identifier")),
    BadFile("negative_revenue", _rows("b-2,2024-01-09,n.buyer@example.com,,-5"), ("row 2", "is negative")),
    BadFile(
        "thousands_separator",
        _rows('b-2,2024-01-09,t.buyer@example.com,,"1,200.50"'),
        ("row 2", "is not a decimal number"),
    ),
    BadFile(
        "bad_goals",
        _rows("b-2,2024-01-09,g.buyer@example.com,,5,goal one", extra=("goals", "g1")),
        ("row 2", "is not a goals list"),
    ),
    BadFile(
        "bad_currency",
        _rows("b-2,2024-01-09,c.buyer@example.com,,5,RUBL", extra=("currency", "RUB")),
        ("row 2", "is not a 3-letter currency code"),
    ),
    BadFile(
        "bad_status",
        _rows("b-2,2024-01-09,s.buyer@example.com,,5,DONE!", extra=("order_status", "PAID")),
        ("row 2", "is not an order status"),
    ),
    BadFile(
        "float_client_id",
        _rows("b-2,2024-01-09,f.buyer@example.com,,5,1.2e+18", extra=("client_ids", "12345")),
        ("row 2", "is not a valid ClientID"),
    ),
    BadFile(
        "duplicate_ids", _rows("g-1,2024-01-09,d.buyer@example.com,,5"), ("g-1", "duplicate", "keep_last")
    ),
    BadFile(
        "unknown_column",
        _rows("b-2,2024-01-09,u@example.com,,5,x", extra=("note", "x")),
        ("note",),
    ),
    BadFile(
        "missing_create_date_time",
        b"id,emails\nm-1,m.buyer@example.com\n",
        ("create_date_time",),
    ),
    BadFile("empty_file", b"", ("empty",)),
    BadFile(
        "tab_delimited",
        b"id\tcreate_date_time\temails\nt-1\t2024-01-09\tt@example.com\n",
        ("create_date_time",),
    ),
    BadFile("broken_quoting", _rows('b-2,2024-01-09,"q.buyer@example.com,,5'), ("row",)),
    BadFile(
        "non_utf8",
        HEADER.encode() + GOOD_ROW.encode() + "b-2,2024-01-09,m\xe9l@example.com,,5\n".encode("latin-1"),
        ("row 2", "UTF-8"),
    ),
    BadFile(
        "too_many_rejected_in_skip_mode",
        _rows("b-2,1969-12-31,old.buyer@example.com,,5", "b-3,yesterday,y.buyer@example.com,,5"),
        ("max_invalid_fraction",),
        options={"on_invalid": "skip", "max_invalid_fraction": 0.5},
    ),
    BadFile(
        "phone_extension",
        _rows('b-2,2024-01-09,,"+7 495 123-45-67 (89)",5'),
        ("row 2", "column phones", "holds an extension"),
        secret="495 123-45-67",
    ),
    BadFile(
        "two_phones_in_one_value",
        _rows('b-2,2024-01-09,,"555-1234 555-5678",5'),
        ("row 2", "column phones", "holds two numbers"),
        secret="555-1234 555-5678",
    ),
    BadFile("huge_revenue", _rows("b-2,2024-01-09,h.buyer@example.com,,1e309"), ("row 2", "is too large")),
    BadFile(
        "ambiguous_dot_group",
        b"id;create_date_time;emails;revenue\nb-1;2024-01-09;a.buyer@example.com;1.234\n",
        ("row 1", "column revenue", "is ambiguous", 'decimal="."'),
    ),
    BadFile(
        "ambiguous_goal_price",
        b"id;create_date_time;emails;revenue;goals\nb-1;2024-01-09;a.buyer@example.com;4590,50;oplata:4590,50\n",
        ("row 1", "column goals", "reads two ways", "oplata:4590.50"),
    ),
    BadFile(
        "international_prefix_phone",
        _rows("b-2,2024-01-09,,0049 30 5550123,5"),
        ("row 2", "column phones", "starts with 00", "+49 30 ..."),
        secret="0049 30 5550123",
    ),
    BadFile(
        "doubled_country_code",
        _rows("b-2,2024-01-09,,77 916 555 01 23,5"),
        ("row 2", "column phones", "7 + 10 digits", "7 7 916 ... -> 7 916 ..."),
        secret="916 555 01 23",
    ),
    BadFile(
        "control_character",
        _rows("b-\x012,2024-01-09,c.buyer@example.com,,5"),
        ("row 2", "column id", "control character", "b-\\x012"),
    ),
    BadFile(
        "field_count_with_customer_data",
        _rows("b-2,2024-01-09,leaky.buyer@example.com,79995550000"),
        ("row 2", "fields where the header has 5"),
        secret="leaky.buyer@example.com",
    ),
    BadFile(
        "runaway_quote",
        _rows('b-2,2024-01-09,"runaway.buyer@example.com' + "x" * (2 << 20) + ",,5"),
        ("row 2", "longer than 1 MiB", "close the quote"),
        secret="runaway.buyer@example.com",
    ),
    BadFile(
        "templated_counter",
        _rows(),
        ("counter_id must be a positive integer",),
        options={"counter_id": "{{ 'abc' }}"},
    ),
    BadFile(
        "templated_merge_mode",
        _rows(),
        ("merge_mode must be one of",),
        options={"merge_mode": "{{ 'MERGE' }}"},
    ),
    BadFile(
        "templated_timezone",
        _rows(),
        ("Mars/Olympus", "time zone"),
        options={"timezone": "{{ 'Mars/Olympus' }}"},
    ),
    BadFile("templated_columns", _rows(), ("columns must be a mapping",), options={"columns": "{{ 'id' }}"}),
    BadFile(
        "templated_force_resend",
        _rows(),
        ("force_resend must be True or False",),
        options={"force_resend": "{{ 'maybe' }}"},
    ),
]
