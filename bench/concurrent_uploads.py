"""
Benchmark: 20 concurrent uploads against the emulator's 3-parallel-requests quota.

Runs, in the same process and against the same emulator: the 20 uploads one after another with no
quota (the baseline), then all 20 at once from 20 threads with ``parallel_limit=3`` so Metrika's
``quota_parallel_requests`` 429 answers must be absorbed by the hook's backoff. Prints the total
times side by side and how many 429s were absorbed; fails if an upload is lost or applied twice.

Run: ``.venv/bin/python bench/concurrent_uploads.py [--uploads 20] [--rows 2000]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_metrika.delivery import upload_simple_orders


def _orders(batch: int, rows: int) -> bytes:
    lines = [
        f"b{batch:02d}-{n:06d},2024-01-09 10:00:00,buyer{batch}x{n}@example.com,{n}.5" for n in range(rows)
    ]
    return ("id,create_date_time,emails,revenue\n" + "\n".join(lines) + "\n").encode()


def _run(emulator: object, uploads: int, rows: int, concurrent: bool) -> float:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

    files = [_orders(batch, rows) for batch in range(uploads)]
    barrier = threading.Barrier(uploads if concurrent else 1)

    def upload(batch: int) -> dict[str, object]:
        hook = MetrikaHook(retry_limit=50, retry_delay=0.1, max_retry_delay=2.0)
        barrier.wait()
        return upload_simple_orders(hook, 12345, io.BytesIO(files[batch]), all_rows_have_ids=True)

    started = time.perf_counter()
    if concurrent:
        with ThreadPoolExecutor(max_workers=uploads) as pool:
            results = list(pool.map(upload, range(uploads)))
    else:
        results = [upload(batch) for batch in range(uploads)]
    elapsed = time.perf_counter() - started
    assert all(r["api_validation_status"] == "PASSED" for r in results), results
    return elapsed


def main() -> None:
    """Run both scenarios and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="metrika-bench-home-"))
    from airflow_provider_metrika.emulator.testing import run_emulator

    with run_emulator(tokens={"bench-token": None}) as emulator:
        os.environ["AIRFLOW_CONN_METRIKA_DEFAULT"] = json.dumps(
            {"conn_type": "metrika", "host": emulator.base_url, "password": "bench-token"}
        )
        sequential = _run(emulator, args.uploads, args.rows, concurrent=False)
        emulator.reset()
        emulator.configure(parallel_limit=3)
        concurrent = _run(emulator, args.uploads, args.rows, concurrent=True)
        statuses = [r["status"] for r in emulator.api_requests(path_contains="simple_orders")]
        stored = emulator.orders(12345)
    absorbed = statuses.count(429)
    applied = set(stored["applied_counts"].values())
    print(f"{args.uploads} uploads of {args.rows:,} orders each; machine: {os.cpu_count()} cores")
    print(f"{'scenario':<44}{'total s':>9}{'429s absorbed':>15}")
    print(f"{'one after another, no quota (baseline)':<44}{sequential:>9.2f}{0:>15}")
    print(f"{'20 threads at once, parallel_limit=3':<44}{concurrent:>9.2f}{absorbed:>15}")
    print(f"ratio concurrent/baseline: {concurrent / sequential:.2f}x")
    ok = (
        statuses.count(200) == args.uploads
        and len(stored["orders"]) == args.uploads * args.rows
        and applied == {1}
    )
    print(f"all {args.uploads} landed once, none lost or duplicated: {'yes' if ok else 'NO'}")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
