"""The parallel-requests quota: too many requests in flight for one token answer 429."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import LIMITED_TOKEN, MetrikaApi, error_of

#: The longest a held request waits for its release: far more than any test needs.
HOLD = {"hold": True, "delay": 60}


def test_request_over_the_parallel_limit_is_429_quota_parallel_requests(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(parallel_limit=1)
    emulator.inject_faults({"target": "counter", **HOLD})
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(api.counter)
        emulator.wait_until_held(1)
        assert error_of(api.last_uploadings()) == (429, "quota_parallel_requests")
        assert emulator.release() == 1
        assert slow.result().status_code == 200
    assert api.last_uploadings().status_code == 200


def test_parallel_limit_counts_each_token_separately(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(parallel_limit=1)
    emulator.inject_faults({"target": "counter", **HOLD})
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(api.counter)
        emulator.wait_until_held(1)
        assert api.last_uploadings(token=LIMITED_TOKEN).status_code == 200
        emulator.release()
        assert slow.result().status_code == 200


def test_requests_within_the_parallel_limit_all_succeed(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(parallel_limit=3)
    emulator.inject_faults({"target": "counter", "times": 3, **HOLD})
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(api.counter) for _ in range(3)]
        emulator.wait_until_held(3)  # all three in flight at once
        emulator.release()
        statuses = [future.result().status_code for future in futures]
    assert statuses == [200, 200, 200]
