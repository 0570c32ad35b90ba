"""The one synchronous wait on Metrika's validation of uploads, polling from the worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_metrika.exceptions import MetrikaUploadingFailedError, MetrikaUploadingTimeoutError
from airflow_provider_metrika.progress import StatusLog
from airflow_provider_metrika.waiting.uploadings import UploadingsWait

#: One look at the uploads: the pending ids and how far back to search -> the uploads found by id.
Finder = Callable[[list[str], str | None], Mapping[str, dict[str, Any]]]


def poll_once(wait: UploadingsWait, find: Finder) -> bool:
    """
    Look once; return True when every upload passed, False while some are pending.

    :param wait: the state of the wait (the sensor and the trigger share it).
    :param find: one search of the pending ids.
    :raises MetrikaUploadingFailedError: when one is FAILED.
    """
    if wait.pending:
        wait.update(find(wait.pending, wait.not_before()))
    if wait.failed:
        raise MetrikaUploadingFailedError(wait.failure_message())
    return not wait.pending


def wait_for_validation(
    wait: UploadingsWait,
    find: Finder,
    *,
    timeout: float,
    poll_interval: float,
    log: logging.Logger | Any,
    sleep: Callable[[float], Any] = time.sleep,
) -> list[dict[str, Any]]:
    """
    Poll until every upload is PASSED; return them. Nothing to wait for is a success.

    :param wait: the uploads waited on.
    :param find: one search of the pending ids.
    :param timeout: seconds before giving up.
    :param poll_interval: seconds between two looks.
    :param log: where progress is logged.
    :param sleep: how to wait between looks.
    :raises MetrikaUploadingFailedError: when one is FAILED.
    :raises MetrikaUploadingTimeoutError: when some are still pending at the deadline.
    """
    deadline = time.monotonic() + timeout
    status_log = StatusLog(log, "Waiting for Metrika: %s")  # on change, else once a minute
    while not poll_once(wait, find):
        if time.monotonic() >= deadline:
            raise MetrikaUploadingTimeoutError(wait.timeout_message(f"within {timeout:g} s"))
        status_log(wait.describe_pending())
        sleep(poll_interval)
    log.info("%s", wait.success_message())
    return list(wait.uploadings.values())
