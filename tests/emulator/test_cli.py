"""The metrika-emulator command line: arguments become settings."""

from __future__ import annotations

import pytest

from airflow_provider_metrika.emulator.__main__ import build_parser, settings_from_args
from airflow_provider_metrika.emulator.constants import DEFAULT_COUNTER_ID, DEFAULT_TIME_ZONE, DEFAULT_TOKEN


def _settings(*argv: str):
    return settings_from_args(build_parser().parse_args(list(argv)))


def test_without_arguments_the_default_token_sees_the_default_counter() -> None:
    settings = _settings()
    assert settings.tokens == {DEFAULT_TOKEN: None}
    assert settings.counters == {DEFAULT_COUNTER_ID: DEFAULT_TIME_ZONE}
    assert settings.parallel_limit is None


def test_tokens_and_counters_are_repeatable_and_restrictable() -> None:
    settings = _settings(
        "--token", "a", "--token", "b=12345,67890", "--counter", "12345", "--counter", "67890:Asia/Tokyo"
    )
    assert settings.tokens == {"a": None, "b": frozenset({12345, 67890})}
    assert settings.counters == {12345: DEFAULT_TIME_ZONE, 67890: "Asia/Tokyo"}


def test_pacing_options_are_read() -> None:
    settings = _settings("--listing-delay", "1.5", "--status-delay", "2", "--parallel-limit", "3")
    assert (settings.listing_delay, settings.status_delay, settings.parallel_limit) == (1.5, 2.0, 3)


@pytest.mark.parametrize("argv", [["--token", "t=abc"], ["--counter", "x:UTC"], ["--token", "=1"]])
def test_bad_token_or_counter_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
