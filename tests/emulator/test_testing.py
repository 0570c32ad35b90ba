"""run_emulator / EmulatorProcess: startup, clean stop, no leftovers, and no secrets in the output."""

from __future__ import annotations

import os
import signal
import socket

import psutil
import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorProcess, EmulatorStartupError, run_emulator
from tests.emulator.helpers import SAMPLE_CSV, MetrikaApi


def test_emulator_output_never_contains_a_token() -> None:
    secret, wrong = "s3cret-token-4c1d", "wrong-token-9f2e"
    with run_emulator(tokens={secret: None}) as client:
        api = MetrikaApi(client.base_url)
        assert api.uploading(SAMPLE_CSV, token=secret, counter=12345)["api_validation_status"] == "PASSED"
        assert api.counter(token=wrong, counter=12345).status_code == 401
        requests.get(
            f"{client.base_url}/cdp/api/v1/counter/12345/last_uploadings",
            params={"oauth_token": secret},
            timeout=10,
        )
        process = client.process
        assert process is not None
    stdout, stderr = process.stdout, process.stderr
    assert stdout.splitlines() == [f"Metrika emulator listening on {client.base_url}"]
    assert "POST /cdp/api/v1/counter/12345/data/simple_orders 200" in stderr
    assert "GET /management/v1/counter/12345 401" in stderr
    for text in (stdout, stderr):
        assert secret not in text
        assert wrong not in text


def test_run_emulator_without_arguments_serves_the_defaults_and_leaves_no_process_behind() -> None:
    with run_emulator() as client:
        process = client.process
        assert process is not None
        pid = process.pid
        assert pid is not None
        assert psutil.pid_exists(pid)
        config = client.config()
        assert config["tokens"] == {"emulator-token": None}
        assert config["counters"] == {"12345": "Europe/Moscow"}
    assert not psutil.pid_exists(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    # SIGTERM stops it cleanly: exit code 0, not a signal death.
    assert process.returncode == 0


def test_emulator_stops_cleanly_on_sigint() -> None:
    process = EmulatorProcess()
    process.start()
    try:
        assert process.pid is not None
        os.kill(process.pid, signal.SIGINT)
        assert psutil.Process(process.pid).wait(10) == 0
    finally:
        process.stop()


def test_startup_failure_raises_with_the_emulator_stderr() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmulatorStartupError) as raised, run_emulator(port=port):
            pass
    message = str(raised.value)
    assert "exited with code 1" in message
    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert "address already in use" in message.lower()
