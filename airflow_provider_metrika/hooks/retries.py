"""Retry policy of the Metrika hook: which failures are retried, and how long to wait between tries."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import tenacity

from airflow_provider_metrika.exceptions import MetrikaApiError, MetrikaConnectionError
from airflow_provider_metrika.hooks.failures import describe_failure, is_refused

__all__ = ["RetryPolicy", "describe_failure", "is_refused", "is_retryable", "parse_retry_after"]

#: Answers worth another try: quotas (420 in older docs, 429) and server-side failures.
RETRYABLE_STATUSES = frozenset({420, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None) -> float | None:
    """
    Read a ``Retry-After`` header: delay in seconds or an HTTP date.

    :param value: the header value, or None when absent.
    :return: seconds to wait (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_retryable(exc: BaseException) -> bool:
    """Tell whether a failed read request (idempotent) is worth another try."""
    if isinstance(exc, MetrikaApiError):
        return exc.http_status in RETRYABLE_STATUSES
    return isinstance(exc, MetrikaConnectionError)


@dataclass(frozen=True)
class RetryPolicy:
    """
    Exponential backoff with jitter, honouring ``Retry-After`` up to a cap.

    :param retry_limit: retries after the first try (0 disables retries).
    :param retry_delay: the first backoff in seconds; each retry doubles it.
    :param max_retry_delay: the longest wait between two tries, ``Retry-After`` included.
    """

    retry_limit: int = 5
    retry_delay: float = 1.0
    max_retry_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.retry_limit < 0:
            raise ValueError(f"retry_limit must be 0 or more, got {self.retry_limit}")
        if self.retry_delay < 0 or self.max_retry_delay < 0:
            raise ValueError("retry_delay and max_retry_delay must not be negative")

    def wait_seconds(self, attempt: int, retry_after: float | None) -> float:
        """
        Return how long to sleep after failed try number ``attempt`` (1-based).

        :param attempt: how many tries have failed so far.
        :param retry_after: the server's ``Retry-After`` in seconds, if it sent one.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_delay)
        ceiling = min(self.retry_delay * 2 ** (attempt - 1), self.max_retry_delay)
        # "Equal jitter": never less than half the backoff, so a burst of clients spreads out.
        return random.uniform(ceiling / 2, ceiling)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return self.wait_seconds(state.attempt_number, retry_after)

    def _tenacity_kwargs(self, predicate: Any, log: logging.Logger | Any, what: str) -> dict[str, Any]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed with %s; retry %d of %d in %.1f s",
                what,
                describe_failure(exc) if exc else "an error",
                state.attempt_number,
                self.retry_limit,
                wait,
            )

        return {
            "stop": tenacity.stop_after_attempt(self.retry_limit + 1),
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(predicate),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, predicate: Any, log: logging.Logger | Any, what: str) -> tenacity.Retrying:
        """
        Build a synchronous retry loop.

        :param predicate: tells from an exception whether to try again.
        :param log: where each retry is logged, once, with the failure and the wait.
        :param what: names the call in the log line, e.g. ``GET last_uploadings``.
        """
        return tenacity.Retrying(**self._tenacity_kwargs(predicate, log, what))

    def async_retrying(self, predicate: Any, log: logging.Logger | Any, what: str) -> tenacity.AsyncRetrying:
        """Build the asynchronous twin of :meth:`retrying`."""
        return tenacity.AsyncRetrying(**self._tenacity_kwargs(predicate, log, what))
