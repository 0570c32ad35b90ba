"""Twenty concurrent uploads against a 3-parallel-requests quota: all land through backoff, once each."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER

UPLOADS = 20


def _orders(batch: int) -> bytes:
    rows = [f"c{batch:02d}-{n:03d},2024-01-09 10:00:00,buyer{batch}x{n}@example.com" for n in range(50)]
    return ("id,create_date_time,emails\n" + "\n".join(rows) + "\n").encode()


def test_twenty_concurrent_uploads_all_land_once_through_quota_backoff(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(parallel_limit=3)
    # The first three uploads are held for a second: the others surely find the quota full.
    metrika.inject_faults({"target": "upload", "delay": 1.0, "times": 3})
    start = threading.Barrier(UPLOADS)

    def upload(batch: int) -> dict[str, object]:
        hook = MetrikaHook(metrika_conn, retry_limit=30)
        start.wait()
        return hook.upload_simple_orders(COUNTER, io.BytesIO(_orders(batch)), all_rows_have_ids=True)

    with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
        uploadings = list(pool.map(upload, range(UPLOADS)))

    assert [u["api_validation_status"] for u in uploadings] == ["PASSED"] * UPLOADS
    assert len({u["uploading_id"] for u in uploadings}) == UPLOADS
    statuses = [r["status"] for r in metrika.api_requests(path_contains="simple_orders")]
    assert statuses.count(429) >= UPLOADS - 3, "the quota answered 429 and each was absorbed by backoff"
    assert statuses.count(200) == UPLOADS
    stored = metrika.orders(COUNTER)
    assert len(stored["orders"]) == UPLOADS * 50
    assert set(stored["applied_counts"].values()) == {1}, "none lost, none applied twice"
