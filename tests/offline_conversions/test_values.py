"""Identifiers, Target, Price and Currency, and the calls' fields: each refusal names row, column, fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.offline_conversions import InvalidConversionsError, PreparedConversions
from tests.offline_conversions.helpers import TEN_DAYS_AGO, calls, column, conversions, frame


def _problem(
    tmp_path: Path, data: pd.DataFrame, prepare: Callable[..., object] = conversions, **options: object
) -> InvalidConversionsError:
    with pytest.raises(InvalidConversionsError) as caught:
        prepare(data, tmp_path, **options)
    assert list(tmp_path.glob("part-*")) == []
    return caught.value


@pytest.mark.parametrize("identifier", ["ClientId", "Yclid"])
@pytest.mark.parametrize(
    ("value", "reason", "shown"),
    [
        ("1.70487e+18", "went through a float", "1.*******18"),
        ("123456789.0", "went through a float", "12*******.0"),
        ("12345678a9", "is not digits only", "12******a9"),
        ("", "is empty: every row needs its", ""),
    ],
)
def test_digit_identifiers_refuse_anything_but_digits_with_the_value_masked(
    tmp_path: Path, identifier: str, value: str, reason: str, shown: str
) -> None:
    error = _problem(tmp_path, frame(**{identifier: ["1704873600123456789", value]}))

    (problem,) = error.problems
    assert (problem.row, problem.column, problem.value) == (2, identifier, shown)
    assert reason in problem.reason
    if "float" in reason:
        assert "read the column as text or Int64" in str(error)
    assert value not in str(error) or not value


@pytest.mark.parametrize("identifier", ["UserId", "PurchaseId"])
def test_text_identifiers_are_trimmed_counted_and_never_empty(tmp_path: Path, identifier: str) -> None:
    result = conversions(frame(**{identifier: ["  user-1 ", "user 2"]}), tmp_path / "ok")

    assert column(result, identifier) == ["user-1", "user 2"]
    (warning,) = result.report.warnings
    assert (warning.kind, warning.count, warning.rows) == ("trimmed_values", 1, (1,))
    assert identifier in warning.message

    error = _problem(tmp_path / "bad", frame(**{identifier: ["u", "   "]}))
    assert [(p.row, p.column) for p in error.problems] == [(2, identifier)]


def test_identifiers_in_messages_are_masked(tmp_path: Path) -> None:
    error = _problem(tmp_path, frame(UserId=["ivan.petrov@example.com", "u2"], DateTime=["x", "y"]))

    assert "ivan.petrov" not in str(error)
    assert "1***@" not in str(error)  # the masked email keeps its first letter and domain only
    assert error.problems[0].row == 1


def test_control_characters_in_text_are_refused(tmp_path: Path) -> None:
    error = _problem(tmp_path, frame(ClientId=["1"], Target=["pa\x00id"]))

    (problem,) = error.problems
    assert (problem.column, problem.value) == ("Target", "pa\\x00id")
    assert "control character" in problem.reason


def test_target_is_required_trimmed_and_counted_per_goal(tmp_path: Path) -> None:
    result = conversions(frame(ClientId=["1", "2", "3"], Target=["paid", " paid", "call"]), tmp_path / "ok")

    assert result.report.targets == {"paid": 2, "call": 1}
    assert column(result, "Target") == ["paid", "paid", "call"]

    error = _problem(tmp_path / "bad", frame(ClientId=["1"], Target=[None]))
    assert error.problems[0].reason == "is empty: every row needs its Target"


def test_price_is_a_non_negative_decimal_written_with_a_dot(tmp_path: Path) -> None:
    data = frame(ClientId=["1", "2", "3", "4"], Price=["1 299,50", "0", "", "12"])

    result = conversions(data, tmp_path / "ok", decimal=",")

    assert column(result, "Price") == ["1299.5", "0", "", "12"]
    error = _problem(tmp_path / "bad", frame(ClientId=["1", "2", "3"], Price=["-1", "1e20", "12 руб"]))
    reasons = [(p.row, p.reason[:18]) for p in error.problems]
    assert reasons == [(1, "is negative (must "), (2, "is too large: Pric"), (3, "is not a decimal n")]
    assert "Price must be below 10^15" in error.problems[1].reason


def test_price_floats_are_written_plainly_and_nan_is_no_price(tmp_path: Path) -> None:
    result = conversions(frame(ClientId=["1", "2"], Price=[12.5, float("nan")]), tmp_path / "floats")
    assert column(result, "Price") == ["12.5", ""]


def test_currency_is_an_iso_code_upper_cased(tmp_path: Path) -> None:
    result = conversions(frame(ClientId=["1", "2"], Currency=["eur", ""]), tmp_path / "ok")

    assert column(result, "Currency") == ["EUR", ""]
    error = _problem(tmp_path / "bad", frame(ClientId=["1"], Currency=["руб"]))
    assert error.problems[0].reason.startswith("is not a 3-letter currency code")


def call_frame(**columns: Any) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    return pd.DataFrame({"ClientId": ["1"] * rows, "DateTime": [TEN_DAYS_AGO] * rows, **columns})


@pytest.mark.parametrize("flag", ["StaticCall", "CallMissed", "FirstTimeCaller"])
def test_call_flags_read_booleans_numbers_and_text_as_0_or_1(tmp_path: Path, flag: str) -> None:
    result = calls(call_frame(**{flag: [True, False, None]}), tmp_path / "bool")
    assert column(result, flag) == ["1", "0", ""]
    result = calls(call_frame(**{flag: ["1", " TRUE ", "false", "0", ""]}), tmp_path / "text")
    assert column(result, flag) == ["1", "1", "0", "0", ""]
    result = calls(call_frame(**{flag: [1.0, 0.0, float("nan")]}), tmp_path / "float")
    assert column(result, flag) == ["1", "0", ""]

    error = _problem(tmp_path / "bad", call_frame(**{flag: ["yes", "2", "0.5"]}), calls)
    assert [(p.row, p.column, p.value) for p in error.problems] == [
        (1, flag, "yes"),
        (2, flag, "2"),
        (3, flag, "0.5"),
    ]
    assert "is not 0 or 1" in error.problems[0].reason


def test_static_calls_are_counted_and_warned_about(tmp_path: Path) -> None:
    result = calls(call_frame(StaticCall=[1, 0, 1]), tmp_path)

    assert result.report.static_calls == 2
    (warning,) = result.report.warnings
    assert (warning.kind, warning.count, warning.rows) == ("static_calls", 2, (1, 3))


@pytest.mark.parametrize("duration", ["TalkDuration", "HoldDuration"])
def test_durations_are_whole_seconds_up_to_4294967295(tmp_path: Path, duration: str) -> None:
    result = calls(call_frame(**{duration: ["0", "007", "4294967295", ""]}), tmp_path / "ok")
    assert column(result, duration) == ["0", "7", "4294967295", ""]
    result = calls(call_frame(**{duration: [12.0, float("nan")]}), tmp_path / "float")
    assert column(result, duration) == ["12", ""]

    bad = ["4294967296", "-1", "1.5", "12s", "99999999999999999999"]
    error = _problem(tmp_path / "bad", call_frame(**{duration: bad}), calls)
    assert [p.row for p in error.problems] == [1, 2, 3, 4, 5]
    assert {p.reason for p in error.problems} == {"is not a whole number of seconds from 0 to 4294967295"}


def test_phone_numbers_lose_spaces_and_dashes_with_a_warning_and_need_a_plus(tmp_path: Path) -> None:
    result = calls(call_frame(PhoneNumber=["+7 (999) 555-11-11", "+79995551111", ""]), tmp_path / "ok")

    assert column(result, "PhoneNumber") == ["+79995551111", "+79995551111", ""]
    (warning,) = result.report.warnings
    assert (warning.kind, warning.count, warning.rows) == ("normalised_phones", 1, (1,))

    error = _problem(
        tmp_path / "bad", call_frame(PhoneNumber=["89995551111", "+7 999", "+0123456789"]), calls
    )
    assert [(p.row, p.value) for p in error.problems] == [
        (1, "89*******11"),
        (2, "+7**99"),
        (3, "+0*******89"),
    ]
    assert "+ then the country code" in error.problems[0].reason
    assert "9995551111" not in str(error)


def test_urls_must_be_http_and_their_query_strings_are_masked(tmp_path: Path) -> None:
    result = calls(
        call_frame(URL=["https://shop.example/p?utm=1", ""], CallTrackerURL=["HTTP://ct.example", ""]),
        tmp_path / "ok",
    )
    assert column(result, "URL") == ["https://shop.example/p?utm=1", ""]

    error = _problem(
        tmp_path / "bad",
        call_frame(URL=["ftp://shop.example/p?phone=79995551111", "https://a b.example"], Tag=["x", "y"]),
        calls,
    )
    assert [(p.row, p.value) for p in error.problems] == [
        (1, "ftp://shop.example/p?***"),
        (2, "https://a b.example"),
    ]
    assert "79995551111" not in str(error)
    assert "http:// or https://" in error.problems[0].reason


def test_every_call_column_is_written_in_metrikas_order(tmp_path: Path) -> None:
    data = pd.DataFrame(
        {
            "callTrackerUrl": ["https://ct.example/1"],
            "url": ["https://shop.example/"],
            "first_time_caller": [1],
            "tag": ["sales"],
            "call_missed": [0],
            "hold_duration": [3],
            "talk_duration": [60],
            "phone_number": ["+70123456789"],
            "currency": ["RUB"],
            "price": ["10"],
            "static_call": [0],
            "date_time": [TEN_DAYS_AGO],
            "yclid": ["42"],
        }
    )

    result = calls(data, tmp_path)

    assert part_header(result) == (
        "Yclid,DateTime,StaticCall,Price,Currency,PhoneNumber,TalkDuration,HoldDuration,CallMissed,Tag,"
        "FirstTimeCaller,URL,CallTrackerURL"
    )
    assert result.report.kind == "calls"
    assert result.report.targets == {}


def part_header(result: PreparedConversions) -> str:
    return result.parts[0].path.read_text().splitlines()[0]


def test_each_refused_row_is_reported_for_its_own_reasons_only(tmp_path: Path) -> None:
    error = _problem(tmp_path, frame(ClientId=["", "0\t0", "+7 1"], Target=["a", "b", "c"]))

    assert [(p.row, p.reason[:22]) for p in error.problems] == [
        (1, "is empty: every row ne"),
        (2, "holds a control charac"),
        (3, "is not digits only: Me"),
    ]
