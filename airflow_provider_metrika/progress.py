"""Progress lines for long work (rows prepared, bytes uploaded), logged at most every few seconds."""

from __future__ import annotations

import time
from typing import Any

#: Least seconds between two progress lines.
PROGRESS_EVERY_SECONDS = 5.0


class ProgressLog:
    """
    A progress callback that logs the count done and the rate, at most every few seconds.

    :param log: the task's logger.
    :param verb: what is being counted, e.g. ``prepared``.
    :param unit: the unit, e.g. ``rows``.
    :param every: least seconds between two lines.
    """

    def __init__(self, log: Any, verb: str, unit: str, every: float = PROGRESS_EVERY_SECONDS) -> None:
        self.log = log
        self.verb = verb
        self.unit = unit
        self.every = every
        self.started = time.monotonic()
        self._last = self.started

    def __call__(self, done: int) -> None:
        """Log ``done`` so far, unless a line was logged less than ``every`` seconds ago."""
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        rate = done / max(now - self.started, 1e-9)
        self.log.info(
            "%s %s %s so far (%s %s/s)", self.verb, f"{done:,}", self.unit, f"{rate:,.0f}", self.unit
        )
