"""Trigger that waits, in the triggerer, until Metrika is done with some uploads (of any kind)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_metrika._compat import redact
from airflow_provider_metrika.constants import DEFAULT_CONN_ID
from airflow_provider_metrika.exceptions import MetrikaError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.hooks.retries import describe_failure, is_retryable
from airflow_provider_metrika.progress import StatusLog
from airflow_provider_metrika.waiting.kinds import SIMPLE_ORDERS, wait_kind
from airflow_provider_metrika.waiting.uploadings import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    UploadingsWait,
    read_uploading_targets,
)

#: Seconds past the trigger's own deadline after which the scheduler fails a deferral by itself.
DEFERRAL_GRACE = 120.0


def deferral_timeout(deadline: float, poll_interval: float) -> timedelta:
    """
    Return the framework timeout of a deferral whose trigger gives up at ``deadline``.

    The trigger's own timeout event comes first and says which uploadings are pending; this
    backstop fires only when no triggerer runs the trigger, so the task never stays deferred
    forever.

    :param deadline: when the trigger gives up, in seconds since the epoch.
    :param poll_interval: seconds between the trigger's polls (one more poll is allowed for).
    """
    return timedelta(seconds=max(0.0, deadline - time.time()) + poll_interval + DEFERRAL_GRACE)


class MetrikaUploadingTrigger(BaseTrigger):
    """
    Poll until every upload is done (simplified orders: PASSED), one failed, or the deadline passes.

    For simplified orders each poll is one walk back through ``last_uploadings`` for all pending ids
    together (one request when they are among the latest 100), back no further than the oldest
    pending uploading's ``datetime``; other kinds look their uploads up by id. The first poll comes
    one interval after the start (the task has just looked before deferring). A poll that still
    fails on quotas (420 / 429), server errors (5xx) or the network after the hook's own retries is
    logged and tried again at the next poll until the deadline. The trigger yields exactly one event, built by
    :meth:`~airflow_provider_metrika.waiting.uploadings.UploadingsWait.event`:
    ``{"status": "success" | "failed" | "timeout" | "error", "message": str,
    "uploadings": {id: uploading}, "pending": [id, ...]}``; hand it to
    :func:`~airflow_provider_metrika.waiting.uploadings.result_from_event`.

    The token never travels in the kwargs: the hook reads it from the connection in the triggerer.

    :param counter_id: the counter (already resolved: the connection default is not looked up here).
    :param uploading_ids: the ids to wait on.
    :param poll_interval: seconds between polls.
    :param deadline: when to give up, in seconds since the epoch.
    :param not_before: the oldest ``datetime`` of the uploadings (ISO 8601), bounding each search;
        None when unknown.
    :param metrika_conn_id: the Airflow connection to use.
    :param kind: the upload kind waited on (:mod:`airflow_provider_metrika.waiting.kinds`): its
        statuses and the calls that find it; the kwargs omit the default, ``simple_orders``.
    """

    def __init__(
        self,
        *,
        counter_id: int,
        uploading_ids: list[str],
        poll_interval: float,
        deadline: float,
        not_before: str | None = None,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        kind: str = SIMPLE_ORDERS,
    ) -> None:
        super().__init__()
        self.kind = wait_kind(kind)
        self.metrika_conn_id = metrika_conn_id
        self.counter_id = int(counter_id)
        self.uploading_ids = [str(i) for i in uploading_ids]
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline)
        self.not_before = not_before
        #: Polls made by :meth:`run` so far (for logs and tests).
        self.polls = 0

    @classmethod
    def from_uploadings(
        cls,
        *,
        counter_id: int,
        uploadings: Any,
        poll_interval: float,
        timeout: float,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        kind: str = SIMPLE_ORDERS,
    ) -> MetrikaUploadingTrigger:
        """
        Build the trigger for an upload's result: ids, their oldest ``datetime`` and the deadline.

        :param counter_id: the resolved counter id.
        :param uploadings: uploading objects (or ids), as ``read_uploading_targets`` accepts them.
        :param poll_interval: seconds between polls.
        :param timeout: seconds from now until the trigger gives up.
        :param metrika_conn_id: the Airflow connection to use.
        :param kind: the upload kind waited on.
        """
        targets = read_uploading_targets(uploadings, id_field=wait_kind(kind).id_field)
        return cls(
            counter_id=counter_id,
            uploading_ids=list(targets.ids),
            poll_interval=poll_interval,
            deadline=time.time() + timeout,
            not_before=targets.not_before,
            metrika_conn_id=metrika_conn_id,
            kind=kind,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the JSON-primitive kwargs that rebuild this trigger."""
        kwargs: dict[str, Any] = {
            "metrika_conn_id": self.metrika_conn_id,
            "counter_id": self.counter_id,
            "uploading_ids": list(self.uploading_ids),
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "not_before": self.not_before,
        }
        if self.kind.name != SIMPLE_ORDERS:
            kwargs["kind"] = self.kind.name
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until a terminal state, then yield the one event."""
        wait = UploadingsWait(self.counter_id, self.uploading_ids, self.not_before, self.kind.reader)
        try:
            event = await self._wait(MetrikaHook(self.metrika_conn_id), wait)
        except Exception as exc:
            # The hook's exceptions carry no token; redact() also masks any secret registered in
            # this process, in case a lower layer put one in its message.
            message = redact(f"{type(exc).__name__}: {exc}")
            self.log.error("Waiting for uploadings on counter %s failed: %s", self.counter_id, message)
            event = wait.event(EVENT_ERROR, str(message))
        yield TriggerEvent(event)

    async def _wait(self, hook: MetrikaHook, wait: UploadingsWait) -> dict[str, Any]:
        last_error: str | None = None
        # On change, else once a minute: the poll interval may be seconds, the wait hours.
        status_log = StatusLog(self.log, "Waiting for Metrika to validate: %s")
        while True:
            # Sleep first: the task polled just before deferring, and an event fired within
            # seconds of the deferral can race the executor's report of the deferring try, which
            # Airflow 3.3 schedulers may take for an external state change and fail the task.
            await asyncio.sleep(max(0.0, min(self.poll_interval, self.deadline - time.time())))
            self.polls += 1
            try:
                found = await self.kind.afind(hook, self.counter_id, wait.pending, wait.not_before())
            except MetrikaError as exc:
                if not is_retryable(exc):
                    raise
                last_error = describe_failure(exc)
                self.log.warning(
                    "Poll %d of uploadings on counter %s failed with %s after the hook's retries; "
                    "polling again in %.1f s",
                    self.polls,
                    self.counter_id,
                    last_error,
                    self.poll_interval,
                )
            else:
                last_error = None
                wait.update(found)
                if wait.failed:
                    return wait.event(EVENT_FAILED, wait.failure_message())
                if not wait.pending:
                    return wait.event(EVENT_SUCCESS, wait.success_message())
                status_log(wait.describe_pending())
            if time.time() >= self.deadline:
                return wait.event(
                    EVENT_TIMEOUT, wait.timeout_message(f"by {_when(self.deadline)}", last_error)
                )


def _when(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
