"""The Metrika connection works the same from a secrets backend as from an environment variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.conftest import COUNTER, TOKEN

CHECK = (
    "from airflow_provider_metrika.hooks.metrika import MetrikaHook; "
    "print(MetrikaHook('metrika_from_secrets').test_connection())"
)


def test_connection_from_a_secrets_backend_reaches_the_counter(
    metrika: EmulatorClient, tmp_path: Path
) -> None:
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps(
            {
                "metrika_from_secrets": {
                    "conn_type": "metrika",
                    "host": metrika.base_url,
                    "password": TOKEN,
                    "extra": {"counter_id": COUNTER},
                }
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW__SECRETS__BACKEND"] = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
    env["AIRFLOW__SECRETS__BACKEND_KWARGS"] = json.dumps({"connections_file_path": str(connections)})

    result = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"(True, 'Connected: counter {COUNTER}" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert [r["path"] for r in metrika.api_requests()] == [
        f"/management/v1/counter/{COUNTER}",
        f"/cdp/api/v1/counter/{COUNTER}/last_uploadings",
    ]
