"""Bytes sent and wall time of a ``changed_only`` sync next to a full re-send, measured in one run.

    .venv/bin/python bench/changed_only.py                 # 5,000,000 orders, 1% changed
    .venv/bin/python bench/changed_only.py --rows 500000 --changed 0.01

Builds a table of realistic orders, syncs it once to the emulator (over HTTP on 127.0.0.1) so that
the state holds every order, then changes the status and revenue of ``--changed`` of the orders and
sends the table again twice, each from preparation to the last part accepted:

- ``full re-send`` (the baseline): every order prepared and uploaded, as without ``changed_only``;
- ``changed_only``: the state read, every order prepared and compared, the changed ones uploaded,
  the state rewritten.

Both use what the operator runs (the orders core, ``MetrikaHook.upload_simple_orders`` and the
sync state store). The memory the state takes (numpy arrays, traced with ``tracemalloc``) is
reported per tracked order, while comparing and at its peak while the state is rewritten.

Targets: bytes sent <= 2% and wall time <= 0.5x of the full re-send; <= 24 bytes per tracked order
in memory. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from _common import human_bytes, orders_frame

from airflow_provider_metrika.delivery import upload_simple_orders

COUNTER = 12345
BYTES_TARGET = 0.02
TIME_TARGET = 0.5
MEMORY_TARGET = 24


def _change(frame: Any, share: float, seed: int = 11) -> int:
    """Change the status and revenue of ``share`` of the orders, in place; return how many."""
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(len(frame)) < share)
    frame.loc[frame.index[chosen], "order_status"] = "CANCELLED"
    frame.loc[frame.index[chosen], "revenue"] = frame["revenue"].iloc[chosen].fillna(0) + 1.5
    return len(chosen)


class Sync:
    """One destination on the emulator and its sync state, driven as the operator drives them."""

    def __init__(self, workdir: Path) -> None:
        from urllib.parse import urlparse

        from airflow_provider_metrika.hooks.metrika import MetrikaHook, base_url_from_connection
        from airflow_provider_metrika.simple_orders.sync_state import Destination
        from airflow_provider_metrika.sync.store import state_location

        self.workdir = workdir
        self.hook = MetrikaHook()
        api = urlparse(base_url_from_connection(self.hook.connection)).netloc
        self.destination = Destination(api, COUNTER)  # as the operator names it
        self.location = state_location(str(workdir / "state"), self.destination)
        self.runs = 0

    def _find(self, ids: list[str], since: str | None) -> dict[str, Any]:
        return dict(self.hook.find_uploadings(COUNTER, ids, not_before=since))

    def run(self, frame: Any, *, changed_only: bool) -> dict[str, Any]:
        """Prepare, upload every part, and with ``changed_only`` compare and commit; return numbers."""
        from airflow_provider_metrika.simple_orders import prepare_simple_orders
        from airflow_provider_metrika.sync.changes import ACCEPTED, write_receipt, write_rows
        from airflow_provider_metrika.sync.store import compact, load_state

        self.runs += 1
        output = self.workdir / f"run-{self.runs}"
        started = time.perf_counter()
        tracemalloc.start()
        # As the operator does: the earlier upload, accepted and not confirmed, is resolved first.
        state = load_state(self.location, self.destination, self._find) if changed_only else None
        comparing = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        prepared = prepare_simple_orders(
            frame, output, timezone="Europe/Moscow", sync_state=state, max_part_bytes=200_000_000
        )
        upload = None
        if changed_only and prepared.sent_orders is not None:
            upload = write_rows(self.location, prepared.sent_orders, prepared.report.columns, rebuild=False)
        prepare_seconds = time.perf_counter() - started
        uploadings = [
            upload_simple_orders(self.hook, COUNTER, part.path, content_sha256=part.sha256)
            for part in prepared.parts
        ]
        upload_seconds = time.perf_counter() - started - prepare_seconds
        state_orders = peak = 0
        if upload is not None:
            ids = {u["uploading_id"]: u.get("datetime") for u in uploadings}
            write_receipt(self.location, upload, ACCEPTED, ids)
            del state  # the compaction reads the state again, as a concurrent run may have moved it
            tracemalloc.start()
            compact(self.location, self.destination, prepared.report.columns)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            state_orders = load_state(self.location, self.destination).orders  # as the operator counts
        report = prepared.report
        return {
            "seconds": time.perf_counter() - started,
            "prepare": prepare_seconds,
            "upload": upload_seconds,
            "bytes": sum(part.bytes for part in prepared.parts),
            "orders_sent": report.rows_written,
            "unchanged": report.orders_unchanged,
            "state_orders": state_orders,
            "comparing_bytes": comparing,
            "commit_peak_bytes": peak,
        }


def main() -> int:
    """Run the benchmark and print a table; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000, help="orders in the table (default 5,000,000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of orders changed (default 0.01)")
    args = parser.parse_args()

    from airflow_provider_metrika.emulator.testing import run_emulator
    from airflow_provider_metrika.sync.changes import changes_folder

    print(f"Generating {args.rows:,} orders ...", flush=True)
    frame = orders_frame(args.rows)
    # Every status valid as sent, so that no row is rejected: the bench measures sending, not errors.
    frame["order_status"] = frame["order_status"].replace({"lead_form_1": "PAID"})
    with (
        tempfile.TemporaryDirectory(prefix="metrika-changed-only-") as tmp,
        run_emulator(tokens={"bench-token": None}, store_orders=False) as emulator,
    ):
        os.environ["AIRFLOW_HOME"] = tmp
        os.environ["AIRFLOW_CONN_METRIKA_DEFAULT"] = json.dumps(
            {"conn_type": "metrika", "host": emulator.base_url, "password": "bench-token"}
        )
        sync = Sync(Path(tmp))
        print("First sync: every order sent, the state built ...", flush=True)
        first = sync.run(frame, changed_only=True)
        changed = _change(frame, args.changed)
        print(f"{changed:,} orders changed; full re-send, then changed_only ...", flush=True)
        full = sync.run(frame, changed_only=False)
        only = sync.run(frame, changed_only=True)
        # The state file (the first sync folded in) and the change files kept next to it.
        state_file = sync.location.stat().st_size + sum(
            path.stat().st_size for path in changes_folder(sync.location).iterdir()
        )

    orders = args.rows
    bytes_ratio = only["bytes"] / full["bytes"]
    time_ratio = only["seconds"] / full["seconds"]
    comparing = only["comparing_bytes"] / orders
    peak = max(only["commit_peak_bytes"], first["commit_peak_bytes"]) / orders
    building, updating = first["commit_peak_bytes"] / 1e6, only["commit_peak_bytes"] / 1e6
    peaks = f"{building:.0f} MB building, {updating:.0f} MB updating"
    rows = [
        ("first sync (state built)", first),
        ("full re-send (baseline)", full),
        ("changed_only", only),
    ]
    print()
    print(f"{orders:,} orders, {changed:,} changed ({args.changed:.1%}); emulator on 127.0.0.1")
    print(f"{'run':<26}{'orders sent':>13}{'bytes sent':>12}{'prepare s':>11}{'upload s':>10}{'total s':>9}")
    for label, numbers in rows:
        print(
            f"{label:<26}{numbers['orders_sent']:>13,}{human_bytes(numbers['bytes']):>12}"
            f"{numbers['prepare']:>11.1f}{numbers['upload']:>10.1f}{numbers['seconds']:>9.1f}"
        )
    print()
    print(f"bytes sent: {bytes_ratio:.2%} of the full re-send (target <= {BYTES_TARGET:.0%})")
    print(f"wall time:  {time_ratio:.2f}x the full re-send (target <= {TIME_TARGET}x)")
    print(
        f"state: {only['state_orders']:,} orders, {human_bytes(state_file)} on disk with the change files "
        f"({state_file / orders:.1f} bytes per order); in memory {comparing:.1f} bytes per order "
        f"while comparing, {peak:.1f} at the peak of a rewrite ({peaks}; target <= {MEMORY_TARGET})"
    )
    missed = bytes_ratio > BYTES_TARGET or time_ratio > TIME_TARGET or max(comparing, peak) > MEMORY_TARGET
    if only["orders_sent"] != changed or only["unchanged"] != orders - changed:
        print(f"WRONG: sent {only['orders_sent']:,} orders, expected the {changed:,} changed ones")
        missed = True
    print("targets missed" if missed else "targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
