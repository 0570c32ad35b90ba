"""Measure peak memory of preparing CSV files of about 1 GB and 3 GB: it must not grow with the file.

    .venv/bin/python bench/prepare_csv_memory.py                    # 1GB and 3GB
    .venv/bin/python bench/prepare_csv_memory.py --sizes 100MB,300MB

Each preparation runs in a child process that reports its own peak RSS (``ru_maxrss``). Targets: the
largest file's peak within 10% of the smallest's, and every peak under 1 GB. Generated files are deleted.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from _common import human_bytes, orders_frame, parse_size

CHUNK_ROWS = 250_000
GROWTH_TARGET = 0.10
PEAK_TARGET = 10**9


def _chunk_template() -> pa.Table:
    """Return one chunk of orders as CRM exports write them: text dates in two documented formats."""
    table = pa.Table.from_pandas(orders_frame(CHUNK_ROWS, seed=11), preserve_index=False)
    text = [field.name for field in table.schema if pa.types.is_large_string(field.type)]
    table = table.cast(pa.schema([(f.name, pa.string() if f.name in text else f.type) for f in table.schema]))
    moments = pc.local_timestamp(table["create_date_time"].cast(pa.timestamp("s", tz="Europe/Moscow")))
    dotted = pc.strftime(moments, format="%d.%m.%Y %H:%M")
    iso = pc.strftime(table["create_date_time"], format="%Y-%m-%dT%H:%M:%SZ")
    index = table.schema.get_field_index("create_date_time")
    even = pa.chunked_array([pa.array([row % 2 == 0 for row in range(table.num_rows)])])
    return table.set_column(index, "create_date_time", pc.if_else(even, dotted, iso))


def write_orders_csv(path: Path, target_bytes: int) -> int:
    """Write a CSV of orders with unique ids until it reaches ``target_bytes``; return its row count.

    :param path: the file to write.
    :param target_bytes: approximate size.
    """
    template = _chunk_template()
    sample = pa.BufferOutputStream()
    pcsv.write_csv(template, sample)
    chunks = max(1, round(target_bytes / sample.getvalue().size))
    with pcsv.CSVWriter(str(path), template.schema) as writer:
        for chunk in range(chunks):
            unique = pc.binary_join_element_wise(template["id"], pa.scalar(f"-{chunk}"), "")
            writer.write_table(template.set_column(0, "id", unique))
    return chunks * template.num_rows


def child(csv_path: str, output_dir: str) -> None:
    """Prepare one file and print rows, seconds and this process's peak RSS as JSON.

    :param csv_path: the input.
    :param output_dir: where parts go.
    """
    from airflow_provider_metrika.simple_orders import prepare_simple_orders

    start = time.perf_counter()
    result = prepare_simple_orders(csv_path, output_dir, timezone="Europe/Moscow")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"rows": result.report.rows_written, "seconds": seconds, "peak": peak}))


def _measure(csv_path: Path, scratch: Path) -> dict[str, float]:
    output = scratch / "out"
    command = [sys.executable, __file__, "--child", str(csv_path), str(output)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    shutil.rmtree(output, ignore_errors=True)
    result: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Generate the files, measure each in a child process, print a table; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1GB,3GB", help="comma-separated CSV sizes (default 1GB,3GB)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    parser.add_argument("--child", nargs=2, metavar=("CSV", "OUTPUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    sizes = [parse_size(size) for size in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="prepare-memory-", dir=args.dir))
    results = []
    try:
        for size in sizes:
            path = scratch / f"orders-{size}.csv"
            rows = write_orders_csv(path, size)
            actual = path.stat().st_size
            measured = _measure(path, scratch)
            path.unlink()
            results.append((actual, rows, measured))
            print(f"measured {human_bytes(actual)} ({rows:,} rows)", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{'CSV size':>10}  {'rows':>12}  {'seconds':>8}  {'peak RSS':>10}  vs smallest")
    smallest_peak = results[0][2]["peak"]
    for actual, rows, measured in results:
        ratio = measured["peak"] / smallest_peak
        print(
            f"{human_bytes(actual):>10}  {rows:>12,}  {measured['seconds']:>8.1f}  "
            f"{human_bytes(measured['peak']):>10}  {ratio:.3f}x"
        )
    growth = results[-1][2]["peak"] / smallest_peak - 1
    worst = max(measured["peak"] for _, _, measured in results)
    growth_ok, peak_ok = growth <= GROWTH_TARGET, worst < PEAK_TARGET
    print(
        f"\nlargest vs smallest: {growth:+.1%} (target <= +{GROWTH_TARGET:.0%}): "
        f"{'OK' if growth_ok else 'MISSED'}"
    )
    print(f"highest peak: {human_bytes(worst)} (target < 1 GB): {'OK' if peak_ok else 'MISSED'}")
    return 0 if growth_ok and peak_ok else 1


if __name__ == "__main__":
    sys.exit(main())
