"""The parallel-requests quota: too many requests in flight for one token answer 429."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import LIMITED_TOKEN, MetrikaApi, error_of


def _wait_until_logged(emulator: EmulatorClient, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(emulator.api_requests()) < count:
        assert time.monotonic() < deadline, "the slow request never reached the emulator"
        time.sleep(0.01)


def test_request_over_the_parallel_limit_is_429_quota_parallel_requests(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(parallel_limit=1)
    emulator.inject_faults({"target": "counter", "delay": 0.5})
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(api.counter)
        _wait_until_logged(emulator, 1)
        assert error_of(api.last_uploadings()) == (429, "quota_parallel_requests")
        assert slow.result().status_code == 200
    assert api.last_uploadings().status_code == 200


def test_parallel_limit_counts_each_token_separately(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(parallel_limit=1)
    emulator.inject_faults({"target": "counter", "delay": 0.5})
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(api.counter)
        _wait_until_logged(emulator, 1)
        assert api.last_uploadings(token=LIMITED_TOKEN).status_code == 200
        assert slow.result().status_code == 200


def test_requests_within_the_parallel_limit_all_succeed(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(parallel_limit=3)
    emulator.inject_faults({"target": "counter", "delay": 0.3, "times": 3})
    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = [future.result().status_code for future in [pool.submit(api.counter) for _ in range(3)]]
    assert statuses == [200, 200, 200]
