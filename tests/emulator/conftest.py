"""One emulator process for the whole test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient, run_emulator
from tests.emulator.helpers import (
    COUNTER,
    LIMITED_TOKEN,
    OTHER_COUNTER,
    OTHER_TIME_ZONE,
    TOKEN,
    MetrikaApi,
)

TOKENS: dict[str, list[int] | None] = {TOKEN: None, LIMITED_TOKEN: [COUNTER]}
COUNTERS = {COUNTER: "Europe/Moscow", OTHER_COUNTER: OTHER_TIME_ZONE}


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[EmulatorClient]:
    with run_emulator(tokens=TOKENS, counters=COUNTERS) as client:
        yield client


@pytest.fixture
def emulator(emulator_session: EmulatorClient) -> EmulatorClient:
    emulator_session.reset()
    # reset keeps tokens and counters; a test may have changed them.
    emulator_session.configure(tokens=TOKENS, counters=COUNTERS)
    return emulator_session


@pytest.fixture
def api(emulator: EmulatorClient) -> MetrikaApi:
    return MetrikaApi(emulator.base_url)
