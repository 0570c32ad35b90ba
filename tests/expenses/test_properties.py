"""Property tests of the expenses core against straightforward Python oracles.

- days and totals: rows of days and ranges against expanding each range by hand and splitting its
  amount evenly in exact decimals;
- the Yandex Direct rule: UTMSource and TrafficSource/TrafficSourceDetail values against a plain
  reading of the rule;
- amounts: decimal text with a dot or a comma against Python's ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_metrika.expenses import InvalidExpensesError, prepare_expenses
from tests.expenses.helpers import column, leftovers

FIRST_DAY = dt.date(2023, 12, 20)
DIRECT_SOURCES = {
    "yandex",
    "direct",
    "yandex.direct",
    "yandexdirect",
    "yandex_direct",
    "ya_direct",
    "ya-direct",
}
DIRECT_SOURCES |= {"yadirect"}
DIRECT_DETAILS = {"yandex_direct", "direct", "yandex.direct", "yandexdirect", "yandex"}


@contextmanager
def _workdir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="expenses-property-"))
    try:
        yield directory / "out"
    finally:
        shutil.rmtree(directory)


def _run(data: pd.DataFrame, **options: object) -> list[str] | InvalidExpensesError:
    """Return the Expenses written, or the InvalidExpensesError, of one run in a fresh directory."""
    with _workdir() as workdir:
        try:
            return column(prepare_expenses(data, workdir, **options), "Expenses")  # type: ignore[arg-type]
        except InvalidExpensesError as error:
            assert leftovers(workdir) == []
            return error


ROWS = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 12), st.integers(0, 10_000_000)), min_size=1, max_size=30
)


@given(ROWS)
def test_days_and_totals_match_ranges_spread_evenly(rows: list[tuple[int, int, int]]) -> None:
    dates: list[str] = []
    expected: dict[str, Decimal] = {}
    for offset, length, cents in rows:
        first = FIRST_DAY + dt.timedelta(days=offset)
        last = first + dt.timedelta(days=length - 1)
        dates.append(first.isoformat() if length == 1 else f"{first}/{last}")
        for shift in range(length):
            key = (first + dt.timedelta(days=shift)).isoformat()
            expected[key] = expected.get(key, Decimal(0)) + Decimal(cents) / 100 / length
    amounts = [str(Decimal(cents) / 100) for _, _, cents in rows]
    data = pd.DataFrame({"Date": dates, "UTMSource": ["vk"] * len(rows), "Expenses": amounts})
    with _workdir() as workdir:
        result = prepare_expenses(data, workdir)
        assert result.report.dates == sorted(expected)
        assert list(result.report.totals) == sorted(expected)
        for day, total in expected.items():
            assert result.report.totals[day] == pytest.approx(float(total), rel=1e-12, abs=1e-9)
        assert result.delete_part is not None
        assert result.delete_part.path.read_text().split() == ["Date", *sorted(expected)]
        assert column(result, "Date") == dates


NAMES = st.sampled_from(
    sorted(DIRECT_SOURCES | DIRECT_DETAILS | {"vk", "google", "vk_ads", "yandex_market", "directs", "ya"})
)
CASED = st.tuples(NAMES, st.lists(st.booleans(), min_size=20, max_size=20)).map(
    lambda pair: "".join(
        char.upper() if upper else char for char, upper in zip(pair[0], pair[1], strict=False)
    )
)
ROW = st.tuples(CASED, st.sampled_from(["ad", "social", "organic", ""]), st.one_of(st.just(""), CASED))


@given(st.lists(ROW, min_size=1, max_size=20))
def test_direct_rows_are_refused_and_only_they(rows: list[tuple[str, str, str]]) -> None:
    def is_direct(utm: str, source: str, detail: str) -> bool:
        return utm.lower() in DIRECT_SOURCES or (source == "ad" and detail.lower() in DIRECT_DETAILS)

    expected = [number for number, row in enumerate(rows, 1) if is_direct(*row)]
    data = pd.DataFrame(
        {
            "Date": ["2024-01-01"] * len(rows),
            "UTMSource": [utm for utm, _, _ in rows],
            "TrafficSource": [source for _, source, _ in rows],
            "TrafficSourceDetail": [detail if source else "" for _, source, detail in rows],
            "Expenses": ["1"] * len(rows),
        }
    )
    outcome = _run(data)
    if not expected:
        assert not isinstance(outcome, InvalidExpensesError)
        return
    assert isinstance(outcome, InvalidExpensesError)
    assert outcome.report.rows_rejected == len(expected)
    shown = sorted({problem.row for problem in outcome.problems})
    assert shown == expected[: len(shown)]
    assert all("Yandex Direct" in problem.reason for problem in outcome.problems)


AMOUNTS = st.decimals(min_value=-1_000_000, max_value=10**14, places=4, allow_nan=False, allow_infinity=False)


@given(st.lists(AMOUNTS, min_size=1, max_size=20), st.sampled_from([".", ","]))
def test_amounts_are_written_as_the_same_decimal_with_a_dot(amounts: list[Decimal], decimal: str) -> None:
    texts = [str(amount).replace(".", decimal) for amount in amounts]
    data = pd.DataFrame(
        {"Date": ["2024-01-01"] * len(amounts), "UTMSource": ["vk"] * len(amounts), "Expenses": texts}
    )
    negative = [number for number, amount in enumerate(amounts, 1) if amount < 0]
    outcome = _run(data, decimal=decimal)
    if negative:
        assert isinstance(outcome, InvalidExpensesError)
        assert [problem.row for problem in outcome.problems] == negative[:10]
        assert all("negative" in problem.reason for problem in outcome.problems)
        return
    assert not isinstance(outcome, InvalidExpensesError)
    assert all("," not in text for text in outcome)
    assert [Decimal(text) for text in outcome] == amounts
