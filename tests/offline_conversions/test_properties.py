"""Property tests of the core against straightforward Python oracles.

- DateTime: naive wall-clock strings in a zone (DST gaps and overlaps included), aware ISO strings and
  Unix seconds, against ``zoneinfo`` and ``datetime``;
- digit identifiers: any text against a regular expression;
- durations: any text against Python's ``int``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_metrika.offline_conversions import InvalidConversionsError, PreparedConversions
from tests.offline_conversions.helpers import NOW, calls, column, conversions, frame

ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
WALL_CLOCKS = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2024, 1, 19))


def _run(
    prepare: Callable[..., PreparedConversions], data: pd.DataFrame, **options: object
) -> list[list[str]] | InvalidConversionsError:
    """Return the columns written, or the InvalidConversionsError, of one run in a fresh directory."""
    workdir = Path(tempfile.mkdtemp(prefix="conversions-property-"))
    try:
        result = prepare(data, workdir / "out", **options)
        return [column(result, name) for name in result.report.columns]
    except InvalidConversionsError as error:
        assert not list((workdir / "out").glob("part-*"))
        return error
    finally:
        shutil.rmtree(workdir)


def _utc_seconds_of_wall(wall: dt.datetime, zone: str) -> int:
    """Return a wall clock's instant; a skipped time: the end of its gap; a repeated one: the first."""
    tz = zoneinfo.ZoneInfo(zone)
    first = int(wall.replace(tzinfo=tz, fold=0).timestamp())
    second = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    if dt.datetime.fromtimestamp(first, tz).replace(tzinfo=None) == wall:
        return min(first, second) if _exists(second, wall, tz) else first
    # In a gap: the end of the gap is the first instant whose offset is the one after the gap.
    low, high = min(first, second), max(first, second)
    after = dt.datetime.fromtimestamp(high, tz).utcoffset()
    while low < high:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == after:
            high = middle
        else:
            low = middle + 1
    return low


def _exists(instant: int, wall: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    return dt.datetime.fromtimestamp(instant, tz).replace(tzinfo=None) == wall


@given(st.lists(WALL_CLOCKS, min_size=1, max_size=8), st.sampled_from(ZONES), st.booleans())
def test_naive_times_match_the_zoneinfo_oracle(walls: list[dt.datetime], zone: str, iso_t: bool) -> None:
    walls = [wall.replace(microsecond=0) for wall in walls]
    text = [wall.isoformat(sep="T" if iso_t else " ") for wall in walls]

    outcome = _run(conversions, frame(ClientId=["1"] * len(text), DateTime=text), timezone=zone)

    assert not isinstance(outcome, InvalidConversionsError), str(outcome)
    assert not isinstance(outcome, InvalidConversionsError), str(outcome)
    _, _, written = outcome
    assert written == [str(_utc_seconds_of_wall(wall, zone)) for wall in walls]


AWARE = st.datetimes(
    max_value=dt.datetime(3000, 1, 1), timezones=st.sampled_from([zoneinfo.ZoneInfo(z) for z in ZONES])
)


@given(st.lists(AWARE, max_size=6))
def test_aware_iso_strings_and_unix_seconds_match_datetime(instants: list[dt.datetime]) -> None:
    instants = [instant.replace(microsecond=instant.microsecond // 1000 * 1000) for instant in instants]
    instants = [instant for instant in instants if dt.datetime(1970, 1, 2, tzinfo=dt.UTC) < instant]
    if not instants:
        return
    text = [instant.isoformat() for instant in instants]
    seconds = [str(instant.timestamp()) for instant in instants]

    outcome = _run(conversions, frame(ClientId=["1"] * 2 * len(text), DateTime=text + seconds))

    future = [instant > NOW for instant in instants] * 2
    if any(future):
        assert isinstance(outcome, InvalidConversionsError)
        assert [problem.row for problem in outcome.problems] == [
            row for row, late in enumerate(future, 1) if late
        ][:10]
        assert {problem.reason.split(" (")[0] for problem in outcome.problems} == {"is in the future"}
        return
    assert not isinstance(outcome, InvalidConversionsError), str(outcome)
    _, _, written = outcome
    expected = [_seconds_text(instant) for instant in instants]
    assert written == expected + expected


def _seconds_text(instant: dt.datetime) -> str:
    whole = int(instant.timestamp() // 1)
    fraction = f"{instant.microsecond:06d}".rstrip("0")
    return f"{whole}.{fraction}" if fraction else str(whole)


IDENTIFIER_TEXT = st.text(alphabet="0123456789 .eE+-a\t", max_size=12)


@given(st.lists(IDENTIFIER_TEXT, min_size=1, max_size=10), st.sampled_from(["ClientId", "Yclid"]))
def test_digit_identifiers_match_the_regex_oracle(values: list[str], identifier: str) -> None:
    outcome = _run(conversions, frame(**{identifier: values}))

    accepted = [re.fullmatch(r"[ \t]*([0-9]+)[ \t]*", value) for value in values]
    if all(accepted):
        assert not isinstance(outcome, InvalidConversionsError), str(outcome)
        written, *_ = outcome
        assert written == [match.group(1) for match in accepted if match]
    else:
        assert isinstance(outcome, InvalidConversionsError)
        refused = [row for row, match in enumerate(accepted, 1) if not match]
        assert [problem.row for problem in outcome.problems] == refused[:10]
        assert {problem.column for problem in outcome.problems} == {identifier}


@given(st.lists(st.text(alphabet="0123456789-.+ x", max_size=12), min_size=1, max_size=8))
def test_durations_match_the_int_oracle(values: list[str]) -> None:
    data = pd.DataFrame({"ClientId": ["1"] * len(values), "DateTime": ["1704873600"] * len(values)})

    outcome = _run(calls, data.assign(TalkDuration=values))

    def expected(value: str) -> str | None:
        text = value.strip()
        if text == "":
            return ""
        if not text.isdigit():
            return None
        return str(int(text)) if int(text) <= 4_294_967_295 else None

    wanted = [expected(value) for value in values]
    if None in wanted:
        assert isinstance(outcome, InvalidConversionsError)
        assert [problem.row for problem in outcome.problems] == [
            row for row, value in enumerate(wanted, 1) if value is None
        ][:10]
    else:
        assert not isinstance(outcome, InvalidConversionsError), str(outcome)
        _, _, durations = outcome
        assert durations == wanted
