"""Twenty concurrent uploads against a 3-parallel-requests quota: all land through backoff, once each."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER

UPLOADS = 20


def _orders(batch: int) -> bytes:
    rows = [f"c{batch:02d}-{n:03d},2024-01-09 10:00:00,buyer{batch}x{n}@example.com" for n in range(50)]
    return ("id,create_date_time,emails\n" + "\n".join(rows) + "\n").encode()


def _refused(metrika: EmulatorClient) -> int:
    return [r["status"] for r in metrika.api_requests(path_contains="simple_orders")].count(429)


def test_twenty_concurrent_uploads_all_land_once_through_quota_backoff(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(parallel_limit=3)
    # The first three uploads are held until every other one has met the full quota at least once.
    metrika.inject_faults({"target": "upload", "hold": True, "delay": 120, "times": 3})
    start = threading.Barrier(UPLOADS)

    def upload(batch: int) -> dict[str, object]:
        hook = MetrikaHook(metrika_conn, retry_limit=30)
        start.wait()
        return upload_simple_orders(hook, COUNTER, io.BytesIO(_orders(batch)), all_rows_have_ids=True)

    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        running = [pool.submit(upload, batch) for batch in range(UPLOADS)]
        metrika.wait_until_held(3)
        deadline = time.monotonic() + 120
        while _refused(metrika) < UPLOADS - 3:
            assert time.monotonic() < deadline, f"only {_refused(metrika)} uploads met the full quota"
            time.sleep(0.05)
        assert metrika.release() == 3
        uploadings = [future.result() for future in running]

    assert [u["api_validation_status"] for u in uploadings] == ["PASSED"] * UPLOADS
    assert len({u["uploading_id"] for u in uploadings}) == UPLOADS
    statuses = [r["status"] for r in metrika.api_requests(path_contains="simple_orders")]
    assert statuses.count(429) >= UPLOADS - 3, "the quota answered 429 and each was absorbed by backoff"
    assert statuses.count(200) == UPLOADS
    stored = metrika.orders(COUNTER)
    assert len(stored["orders"]) == UPLOADS * 50
    assert set(stored["applied_counts"].values()) == {1}, "none lost, none applied twice"
