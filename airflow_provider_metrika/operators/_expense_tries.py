"""Before a try replaces a provider's days again: what earlier tries sent, settled first.

Every try of the expenses operator repeats the whole replace (delete the days, then upload). So that
a request an earlier try sent can never land after this try's (and add its rows again, or delete the
new ones), this try first waits until Metrika has processed every request the earlier tries' records
name: accepted ones by id, ones whose answer was lost by their comment (looked for as long as the
connection's ``lost_answer_wait``; not found by then, Metrika never stored them). It also returns the
days the earlier tries cleared, which this try's delete covers again.
"""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_metrika.delivery.commented import comment_of
from airflow_provider_metrika.delivery.journal import ACCEPTED, part_key
from airflow_provider_metrika.delivery.manifest import MANIFEST_DOCUMENT, Manifest
from airflow_provider_metrika.exceptions import MetrikaUploadingTimeoutError

#: Where the plan keeps the days its delete cleared.
DAYS = "days"
#: Seconds between two looks at an earlier request.
SETTLE_POLL = 2.0


def settle_earlier_tries(
    hook: Any, counter: int, journal: Any, *, timeout: float, poll_interval: float, log: Any
) -> list[str]:
    """
    Wait until Metrika has processed what earlier tries sent; return the days their plan cleared.

    :param hook: the Metrika hook.
    :param counter: the counter.
    :param journal: the task's delivery journal.
    :param timeout: seconds to wait for each request to be processed.
    :param poll_interval: seconds between two looks.
    :param log: the task's log.
    :raises MetrikaUploadingTimeoutError: when one is still not processed at the deadline (the next
        try waits again).
    """
    earlier = Manifest.from_json(journal.read_document(MANIFEST_DOCUMENT))
    if earlier is None:
        return []
    for part in earlier.parts:
        record = journal.read(part_key(earlier.destination, journal.owner, part.position, part.sha256))
        if record is None:
            continue
        if record.state == ACCEPTED and record.uploading is not None:
            uploading_id: str | None = str(record.uploading.get("id"))
        else:
            uploading_id = _find(hook, counter, comment_of(record.name), hook.lost_answer_wait, poll_interval)
        if uploading_id is None:
            log.info(
                "An earlier try's %s (%s) is not listed: Metrika never stored it", record.name, record.state
            )
            continue
        _wait_processed(hook, counter, uploading_id, timeout, poll_interval, log)
    return list(earlier.extra.get(DAYS) or [])


def _find(hook: Any, counter: int, comment: str, wait: float, poll_interval: float) -> str | None:
    deadline = time.monotonic() + wait
    while True:
        for uploading in hook.list_expenses_uploadings(counter, limit=10_000):
            if uploading.get("comment") == comment:
                return str(uploading.get("id"))
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(poll_interval, SETTLE_POLL, max(0.0, deadline - time.monotonic())))


def _wait_processed(
    hook: Any, counter: int, uploading_id: str, timeout: float, poll: float, log: Any
) -> None:
    deadline = time.monotonic() + timeout
    while (status := str(hook.get_expenses_uploading(counter, uploading_id).get("status"))) != "PROCESSED":
        if time.monotonic() >= deadline:
            raise MetrikaUploadingTimeoutError(
                f"An earlier try's expenses request {uploading_id} on counter {counter} is still {status} "
                f"after {timeout:g} s; nothing was sent by this try. The next try waits for it again."
            )
        log.info("Waiting until Metrika has processed an earlier try's request %s (%s)", uploading_id, status)
        time.sleep(poll)
