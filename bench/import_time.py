"""Time what importing the provider's modules adds to a DAG file's parse, next to HttpOperator's.

    .venv/bin/python bench/import_time.py            # 7 fresh interpreters per case, medians
    .venv/bin/python bench/import_time.py --runs 11

Every case starts a fresh interpreter that first imports the base every provider DAG pays for
(``airflow.sdk`` and the http provider's hook module, which our hook builds on), then times only the
case's own imports. Cases run interleaved, so machine noise spreads over all of them alike.

Target: the provider's operator, sensor, hook and trigger add <= 0.15 s over the base.
Exits 1 when the target is missed or when pandas / pyarrow load at import.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

TARGET_SECONDS = 0.15
BASE = ("airflow.sdk", "airflow.providers.http.hooks.http")
CASES: dict[str, tuple[str, ...]] = {
    "metrika operator + sensor + hook + trigger": (
        "airflow_provider_metrika.operators.simple_orders",
        "airflow_provider_metrika.sensors.uploading",
        "airflow_provider_metrika.hooks.metrika",
        "airflow_provider_metrika.triggers.uploading",
    ),
    "HttpOperator + HttpSensor": (
        "airflow.providers.http.operators.http",
        "airflow.providers.http.sensors.http",
    ),
    "HttpOperator + HttpSensor + SQLExecuteQueryOperator": (
        "airflow.providers.http.operators.http",
        "airflow.providers.http.sensors.http",
        "airflow.providers.common.sql.operators.sql",
    ),
}
HEAVY = ("pandas", "pyarrow", "numpy")

_PROBE = """
import importlib, json, sys, time
for name in {base!r}:
    importlib.import_module(name)
started = time.perf_counter()
for name in {modules!r}:
    importlib.import_module(name)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure(modules: tuple[str, ...]) -> tuple[float, list[str]]:
    """Import the base, then ``modules``, in a fresh interpreter; return the seconds and heavy modules."""
    code = _PROBE.format(base=BASE, modules=modules, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"import failed:\n{result.stderr[-3000:]}")
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    return float(probe["seconds"]), list(probe["heavy"])


def main() -> int:
    """Run every case ``--runs`` times, print the medians and check the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {case: [] for case in CASES}
    heavy: dict[str, set[str]] = {case: set() for case in CASES}
    measure(BASE)  # warm the file system cache and the bytecode
    for _ in range(args.runs):
        for case, modules in CASES.items():
            seconds, loaded = measure(modules)
            times[case].append(seconds)
            heavy[case].update(loaded)
    print(f"Import time over `import {' + '.join(BASE)}`, median of {args.runs} fresh interpreters:")
    for case in CASES:
        names = ", ".join(sorted(heavy[case])) or "none"
        print(f"  {case:<52} {statistics.median(times[case]):6.3f} s   (pandas/pyarrow/numpy: {names})")
    ours = statistics.median(times[next(iter(CASES))])
    failed = ours > TARGET_SECONDS or bool(heavy[next(iter(CASES))] & {"pandas", "pyarrow"})
    print(
        f"Target: provider modules add <= {TARGET_SECONDS} s and load no pandas/pyarrow: "
        f"{'missed' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
