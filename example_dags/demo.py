"""
``make demo``: upload Metrika's official sample orders file to a local emulator and show the result.

Starts the emulator on a free loopback port, points the ``metrika_default`` connection at it,
uploads ``data/sample_orders.csv`` with :class:`MetrikaHook`, reads the uploading back from
``last_uploadings``, and stops the emulator. No Yandex account needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_TOKEN = "demo-token"
DEMO_COUNTER = 12345


def main() -> None:
    """Run the demo and print what Metrika (the emulator) answered."""
    os.environ.setdefault("AIRFLOW_HOME", str(HERE.parent / ".demo" / "airflow"))
    from airflow_provider_metrika.emulator.testing import run_emulator
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

    with run_emulator(tokens={DEMO_TOKEN: None}, counters={DEMO_COUNTER: "Europe/Moscow"}) as emulator:
        print(f"Metrika emulator running at {emulator.base_url}")
        os.environ["AIRFLOW_CONN_METRIKA_DEFAULT"] = json.dumps(
            {"conn_type": "metrika", "host": emulator.base_url, "password": DEMO_TOKEN}
        )
        hook = MetrikaHook()
        sample = HERE / "data" / "sample_orders.csv"
        uploading = hook.upload_simple_orders(DEMO_COUNTER, sample, merge_mode="SAVE")
        print(f"uploaded {sample.name}: {uploading['elements_count']} orders")
        print(f"uploading_id:          {uploading['uploading_id']}")
        print(f"api_validation_status: {uploading['api_validation_status']}")
        listed = hook.get_uploading(DEMO_COUNTER, uploading["uploading_id"])
        status = listed["api_validation_status"] if listed else "not listed yet"
        print(f"last_uploadings says:  {status}")
        stored = emulator.orders(DEMO_COUNTER)
        without_id = len(stored["orders_without_id"])
        print(f"orders stored in the emulator: {sorted(stored['orders'])} + {without_id} without id")
    print("emulator stopped")


if __name__ == "__main__":
    main()
