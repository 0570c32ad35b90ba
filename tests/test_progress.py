"""Progress lines (count and rate, at least one per interval) and status lines (on change, else rarely)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_metrika import progress as progress_module
from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.progress import ProgressLog, StatusLog
from airflow_provider_metrika.waiting.poll import wait_for_validation
from airflow_provider_metrika.waiting.uploadings import UploadingsWait
from tests.conftest import COUNTER


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines:
    """A logger that keeps the formatted lines, and lets a test wait for a count of them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def info(self, message: str, *args: Any) -> None:
        with self._changed:
            self.lines.append(message % args)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 60) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.lines) >= count, timeout), self.lines
            return list(self.lines)


def test_progress_logs_count_elapsed_and_rate_once_the_interval_passed() -> None:
    clock, log = FakeClock(), Lines()
    progress = ProgressLog(log, "prepared", unit="rows", every=10, clock=clock)

    clock.now += 5
    progress(100_000)
    clock.now += 5
    progress(200_000)
    clock.now += 9
    progress(380_000)
    clock.now += 1
    progress(400_000)

    assert log.lines == [
        "prepared 200,000 rows so far, 10 s in (20,000 rows/s)",
        "prepared 400,000 rows so far, 20 s in (20,000 rows/s)",
    ]


def test_a_step_longer_than_the_interval_still_gets_a_line_with_the_last_count() -> None:
    clock, log = FakeClock(), Lines()
    progress = ProgressLog(log, "file.csv: sent", unit="bytes", every=10, clock=clock)
    progress(1_048_576)

    clock.now += 9.9
    assert not progress.tick()
    clock.now += 0.1
    assert progress.tick()  # no new count: the work is still in its step
    clock.now += 10
    assert progress.tick()

    assert log.lines == [
        "file.csv: sent 1,048,576 bytes so far, 10 s in (104,858 bytes/s)",
        "file.csv: sent 1,048,576 bytes so far, 20 s in (52,429 bytes/s)",
    ]


def test_once_the_total_is_reached_the_line_says_what_the_time_goes_to_not_a_falling_rate() -> None:
    clock, log = FakeClock(), Lines()
    progress = ProgressLog(
        log, "part.csv: sent", unit="bytes", every=10, clock=clock, total=3000, after_total="waiting"
    )
    clock.now += 10
    progress(2000)
    clock.now += 10
    progress(3000)
    clock.now += 10
    progress.tick()

    assert log.lines == [
        "part.csv: sent 2,000 bytes so far, 10 s in (200 bytes/s)",
        "part.csv: sent all 3,000 bytes, 20 s in; waiting",
        "part.csv: sent all 3,000 bytes, 30 s in; waiting",
    ]


def test_as_a_context_progress_logs_from_its_own_thread_without_calls_and_stops_with_the_block() -> None:
    log = Lines()
    with ProgressLog(log, "prepared", unit="rows", every=0.01) as progress:
        progress(42)
        lines = log.wait_for(3)  # one long step: lines keep coming without another call
        ticker = progress._ticker
    assert ticker is not None
    assert not ticker.is_alive()
    assert all(line.startswith("prepared 42 rows so far, ") for line in lines)


def test_status_is_logged_on_change_and_an_unchanged_one_at_most_once_per_interval() -> None:
    clock, log = FakeClock(), Lines()
    status = StatusLog(log, "Waiting: %s", every=60, clock=clock)

    seen = []
    for step, text in [(0, "a (not listed yet)"), (10, "a (not listed yet)"), (49, "a (not listed yet)")]:
        clock.now += step
        seen.append(status(text))
    clock.now += 1  # 60 s after the first line
    seen.append(status("a (not listed yet)"))
    clock.now += 5
    seen.append(status("a (last status IN_PROGRESS)"))
    clock.now += 5
    seen.append(status("a (last status IN_PROGRESS)"))

    assert seen == [True, False, False, True, True, False]
    assert log.lines == [
        "Waiting: a (not listed yet)",
        "Waiting: a (not listed yet)",
        "Waiting: a (last status IN_PROGRESS)",
    ]


def test_the_worker_side_wait_logs_a_status_once_not_on_every_poll() -> None:
    log, polls = Lines(), []
    wait = UploadingsWait(COUNTER, ["u1"], None)

    def find(ids: Any, since: Any) -> dict[str, dict[str, Any]]:
        polls.append(ids)
        status = "PASSED" if len(polls) == 5 else "IN_PROGRESS"
        return {"u1": {"uploading_id": "u1", "api_validation_status": status}}

    wait_for_validation(wait, find, timeout=60, poll_interval=0, log=log, sleep=lambda _: None)

    assert len(polls) == 5
    assert [line for line in log.lines if line.startswith("Waiting")] == [
        "Waiting for Metrika: u1 (last status IN_PROGRESS)"
    ]


def test_the_hook_logs_bytes_sent_and_rate_while_it_streams_a_part(
    metrika: EmulatorClient,
    metrika_conn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(progress_module, "PROGRESS_EVERY_SECONDS", 0.0)  # a line per block read
    rows = [f"o{n},2024-01-09 10:00:00,buyer{n}@example.com" for n in range(60_000)]
    part = tmp_path / "orders.csv"
    part.write_text("id,create_date_time,emails\n" + "\n".join(rows) + "\n")
    size = part.stat().st_size

    upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, part)

    # The task logger writes structured lines to stdout: "<time> [info] <message> [<logger>] loc=...".
    sent = [line.split("] ", 1)[1] for line in capsys.readouterr().out.splitlines() if ".csv: sent " in line]
    assert len(sent) >= 3, sent  # a 1 MiB block at a time
    assert f".csv: sent all {size:,} bytes, " in sent[-1]
    waiting = " s in; waiting for Metrika's answer (it reads the whole file first)"
    assert sent[-1].split(" [")[0].endswith(waiting)
    assert all(re.search(r" s in \([\d,]+ bytes/s\) ", line) for line in sent[:-1]), sent
    assert len(metrika.orders(COUNTER)["orders"]) == 60_000
