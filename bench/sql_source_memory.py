"""
Benchmark: peak memory of uploading orders read from SQL in batches vs. the same rows as one DataFrame.

Builds a SQLite warehouse table of ``--rows`` orders (default 200,000), starts the emulator, and in
separate child processes (each with its own peak RSS):

- ``baseline``: Python with the provider's imports, doing nothing;
- ``sql batches``: what ``SimpleOrdersUploadOperator(sql=...)`` does: ``fetchmany`` batches through
  the connection's DbApiHook into ``prepare_simple_orders``, then the parts uploaded by the hook;
- ``one DataFrame``: ``pandas.read_sql`` of the whole result, then the same preparation and upload.

Run: ``.venv/bin/python bench/sql_source_memory.py [--rows 200000] [--batch-rows 50000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from airflow_provider_metrika.delivery import upload_simple_orders

QUERY = (
    "SELECT order_id AS id, created_at AS create_date_time, email AS emails, phone AS phones,"
    " status AS order_status, amount AS revenue, currency FROM orders"
)


def make_warehouse(path: Path, rows: int) -> None:
    """Write a table of ``rows`` realistic orders."""
    rng = np.random.default_rng(7)
    n = np.arange(rows)
    frame = pd.DataFrame(
        {
            "order_id": pd.Series(n).map("ord-{:09d}".format),
            "created_at": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 30, rows), "s")
            ).strftime("%Y-%m-%d %H:%M:%S"),
            "email": pd.Series(n).map("Buyer.{}@Example.com".format),
            "phone": pd.Series(rng.integers(900, 1000, rows)).map("+7 ({}) 555-11-11".format),
            "status": rng.choice(["PAID", "IN_PROGRESS", "CANCELLED"], rows),
            "amount": np.round(rng.random(rows) * 10000, 2),
            "currency": rng.choice(["RUB", "EUR", ""], rows),
        }
    )
    with sqlite3.connect(path) as conn:
        frame.to_sql("orders", conn, index=False)


def child(kind: str, warehouse: str, batch_rows: int) -> None:
    """Prepare and upload in this process, one way; print the seconds taken as JSON."""
    from airflow_provider_metrika.hooks.metrika import MetrikaHook
    from airflow_provider_metrika.operators._inputs import sql_batches
    from airflow_provider_metrika.simple_orders import prepare_simple_orders

    started = time.perf_counter()
    if kind != "baseline":
        if kind == "sql batches":
            data: object = sql_batches("warehouse", QUERY, None, batch_rows)
        else:
            with sqlite3.connect(warehouse) as conn:
                data = pd.read_sql(QUERY, conn)
        with tempfile.TemporaryDirectory() as out:
            prepared = prepare_simple_orders(data, out, timezone="Europe/Moscow", max_part_bytes=20_000_000)
            hook = MetrikaHook()
            for part in prepared.parts:
                upload_simple_orders(hook, 12345, part.path)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def measure(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run one child; return its peak RSS (MB) and the seconds it reported."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"{command[-1]} failed: {process.stderr.read() if process.stderr else ''}"[-3000:])
    timing = [line for line in out.splitlines() if line.startswith('{"seconds"')]
    return {"rss": usage.ru_maxrss / 1024, "seconds": json.loads(timing[-1])["seconds"]}


def main() -> None:
    """Build the table, run the three children against the emulator, print them side by side."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    parser.add_argument("--make-warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_warehouse:
        make_warehouse(Path(args.make_warehouse), args.rows)
        return
    if args.child:
        child(args.child, args.warehouse, args.batch_rows)
        return
    from airflow_provider_metrika.emulator.testing import run_emulator

    with tempfile.TemporaryDirectory(prefix="metrika-sql-bench-") as tmp:
        warehouse = Path(tmp) / "warehouse.db"
        # Built in a child: a forked child's peak RSS starts from its parent's, so the parent stays small.
        subprocess.run(
            [sys.executable, __file__, "--make-warehouse", str(warehouse), "--rows", str(args.rows)],
            check=True,
        )
        with run_emulator(tokens={"bench-token": None}, store_orders=False) as emulator:
            env = {
                **os.environ,
                "AIRFLOW_HOME": tmp,
                "AIRFLOW_CONN_METRIKA_DEFAULT": json.dumps(
                    {"conn_type": "metrika", "host": emulator.base_url, "password": "bench-token"}
                ),
                "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
            }
            base = [
                sys.executable,
                __file__,
                "--warehouse",
                str(warehouse),
                "--batch-rows",
                str(args.batch_rows),
            ]
            results = {
                kind: measure([*base, "--child", kind], env)
                for kind in ("baseline", "sql batches", "one DataFrame")
            }
            uploads = len(emulator.api_requests(path_contains="simple_orders"))
    floor = results["baseline"]["rss"]
    print(
        f"{args.rows:,} orders from SQLite, batches of {args.batch_rows:,}; {uploads} uploads to the emulator"
    )
    print(f"{'source':<16}{'seconds':>9}{'peak RSS MB':>13}{'over baseline MB':>18}")
    for kind, r in results.items():
        seconds = "" if kind == "baseline" else f"{r['seconds']:.2f}"
        print(f"{kind:<16}{seconds:>9}{r['rss']:>13,.0f}{r['rss'] - floor:>+18,.0f}")
    batched, whole = results["sql batches"]["rss"] - floor, results["one DataFrame"]["rss"] - floor
    print(f"memory over baseline, batches vs one DataFrame: {batched / max(whole, 1):.2f}x")


if __name__ == "__main__":
    main()
