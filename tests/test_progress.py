"""Progress lines: count and rate, at most one per interval."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_metrika.progress import ProgressLog


def test_progress_logs_count_and_rate_once_the_interval_passed(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("metrika.test.progress")
    caplog.set_level(logging.INFO, logger=log.name)
    quiet = ProgressLog(log, "prepared", unit="rows", every=3600)
    chatty = ProgressLog(log, "sent", unit="bytes", every=0)

    quiet(1000)
    chatty(2_500_000)

    assert [r.getMessage() for r in caplog.records if "prepared" in r.getMessage()] == []
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("sent 2,500,000 bytes so far (")
    assert line.endswith(" bytes/s)")
