"""Check what ``make demo`` printed: the orders report, the upload summary and what the emulator stored.

    make demo > demo.txt && .venv/bin/python scripts/check_demo.py demo.txt

Run by ``.ci/run`` on a clean clone, so that a change in Airflow's log format (the demo picks the
operator's lines out of ``airflow dags test`` output) cannot leave the README's main command broken
with CI green. Exits 1 naming each line missing or wrong.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: The demo's counter, token and the orders of ``example_metrika_dataframe``.
COUNTER = 12345
TOKEN = "demo-token"
ORDERS = ["web-1001", "web-1002", "web-1003"]
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Each line the demo must print, as a pattern matched against one whole line (spaces collapsed).
EXPECTED = {
    "the emulator started": r"Metrika emulator running at http://127\.0\.0\.1:\d+",
    "the report's heading": rf"Orders prepared for counter {COUNTER} \(dates written in Europe/Moscow.*",
    "the report's table": r"Simplified orders:",
    "the report's rows read": r"rows read 3",
    "the report's rows written": r"rows written 3",
    "the report's rows rejected": r"rows rejected 0",
    "the report's statuses": r"order statuses PAID 2, IN_PROGRESS 1",
    "the summary's heading": rf"Metrika upload summary \(counter {COUNTER}\)",
    "the summary's parts": r"parts 1",
    "the summary's part line": rf"1 3 \d+ {_UUID} PASSED",
    "the emulator's uploadings": r"Emulator: 1 uploading\(s\), status PASSED",
    "the emulator's orders": rf"Emulator: orders stored for counter {COUNTER}: {', '.join(ORDERS)}",
    "the end": r"DAG run succeeded; emulator stopped\.",
}


def problems(output: str) -> list[str]:
    """Return what is missing or wrong in the demo's output.

    :param output: everything ``make demo`` printed.
    """
    lines = [" ".join(line.split()) for line in output.splitlines()]
    found = [
        f"{what}: no line matches {pattern!r}"
        for what, pattern in EXPECTED.items()
        if not any(re.fullmatch(pattern, line) for line in lines)
    ]
    if lines and lines[-1] != "DAG run succeeded; emulator stopped.":
        found.append(f"the last line is {lines[-1]!r}, not the demo's closing line")
    if TOKEN in output:
        found.append("the token appears in the output")
    return found


def main(argv: list[str] | None = None) -> int:
    """Check the file named on the command line; print each problem and return 1 if any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="what make demo printed")
    args = parser.parse_args(argv)
    found = problems(args.output.read_text(encoding="utf-8", errors="replace"))
    for problem in found:
        print(f"make demo: {problem}", file=sys.stderr)
    if not found:
        print(f"make demo: the report, the upload summary and the emulator's {len(ORDERS)} orders are there")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
