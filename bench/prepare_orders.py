"""Time prepare_simple_orders against DataFrame.to_csv on the same realistic orders.

    .venv/bin/python bench/prepare_orders.py            # 5,000,000 rows
    .venv/bin/python bench/prepare_orders.py --rows 500000

Targets: prepare <= 0.3x the to_csv time; hash_identifiers=True adds <= 50% over prepare without hashing.
Also compares MD5 implementations (hashlib in a list comprehension vs the numpy one the core uses).
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from _common import human_bytes, orders_frame

from airflow_provider_metrika.simple_orders import normalize_email, prepare_simple_orders
from airflow_provider_metrika.simple_orders.hashing import md5_array

T = TypeVar("T")
PREPARE_TARGET = 0.3
HASHING_TARGET = 0.5


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _compare_md5(count: int) -> list[str]:
    values = [normalize_email(f"user{index}@example{index % 97}.com") for index in range(count)]
    array = pa.array(values, pa.string())
    hashlib_seconds, expected = _timed(lambda: [hashlib.md5(value.encode()).hexdigest() for value in values])
    numpy_seconds, hashed = _timed(lambda: md5_array(array))
    same = hashed.to_pylist() == expected
    return [
        f"MD5 of {count:,} emails: hashlib list comprehension {hashlib_seconds:.2f} s, "
        f"numpy (used) {numpy_seconds:.2f} s, {hashlib_seconds / numpy_seconds:.1f}x faster, "
        f"identical: {same}"
    ]


def main() -> int:
    """Run the benchmark and print a table; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000, help="orders to generate (default 5,000,000)")
    parser.add_argument("--md5-rows", type=int, default=1_000_000, help="values for the MD5 comparison")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()

    generate_seconds, frame = _timed(lambda: orders_frame(args.rows))
    print(f"generated {args.rows:,} orders in {generate_seconds:.1f} s")
    scratch = Path(tempfile.mkdtemp(prefix="prepare-bench-", dir=args.dir))
    try:
        # Warm up both paths first so neither timed run pays for first-call setup.
        for hashing in (False, True):
            warm = scratch / f"warm-{hashing}"
            prepare_simple_orders(
                frame.head(20_000), warm, timezone="Europe/Moscow", hash_identifiers=hashing
            )
            shutil.rmtree(warm)
        baseline_path = scratch / "to_csv.csv"
        baseline, _ = _timed(lambda: frame.to_csv(baseline_path, index=False))
        baseline_bytes = baseline_path.stat().st_size
        baseline_path.unlink()
        plain, prepared = _timed(
            lambda: prepare_simple_orders(frame, scratch / "plain", timezone="Europe/Moscow")
        )
        shutil.rmtree(scratch / "plain")
        hashed, _ = _timed(
            lambda: prepare_simple_orders(
                frame, scratch / "hashed", timezone="Europe/Moscow", hash_identifiers=True
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    written = prepared.report.rows_written
    part_bytes = sum(part.bytes for part in prepared.parts)
    prepare_ok = plain <= PREPARE_TARGET * baseline
    hashing_ok = hashed <= (1 + HASHING_TARGET) * plain
    rows = [
        ("df.to_csv (baseline)", baseline, f"1.00x   {human_bytes(baseline_bytes)}", ""),
        (
            "prepare_simple_orders",
            plain,
            f"{plain / baseline:.2f}x   {human_bytes(part_bytes)}, {written:,} rows",
            f"target <= {PREPARE_TARGET}x: {'OK' if prepare_ok else 'MISSED'}",
        ),
        (
            "  with hash_identifiers",
            hashed,
            f"{hashed / baseline:.2f}x   +{hashed / plain - 1:.0%} over prepare",
            f"target <= +{HASHING_TARGET:.0%}: {'OK' if hashing_ok else 'MISSED'}",
        ),
    ]
    print(f"\n{'step':<26}{'seconds':>9}   {'vs to_csv':<40}  check")
    for label, seconds, ratio, check in rows:
        print(f"{label:<26}{seconds:>9.2f}   {ratio:<40}  {check}")
    print()
    for line in _compare_md5(args.md5_rows):
        print(line)
    return 0 if prepare_ok and hashing_ok else 1


if __name__ == "__main__":
    sys.exit(main())
