"""Progress lines for long work (rows prepared, bytes uploaded) and status lines for long waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

#: Most seconds between two progress lines while work runs.
PROGRESS_EVERY_SECONDS = 10.0
#: Most seconds between two lines of an unchanged status while waiting (a change is logged at once).
STATUS_EVERY_SECONDS = 60.0

Clock = Callable[[], float]


class ProgressLog:
    """
    Log the count done and its rate, one line every ``every`` seconds while the work runs.

    Called with the count after each step (a batch, a block of bytes), it logs when ``every``
    seconds passed since the last line. Used as a context manager it also logs from a thread of
    its own, so a step that takes longer than ``every`` (a big batch, a stalled network write, the
    checks after the last batch) still shows a line at least that often.

    :param log: the task's logger.
    :param verb: what is being counted, e.g. ``prepared``.
    :param unit: the unit, e.g. ``rows``.
    :param every: seconds between two lines (default :data:`PROGRESS_EVERY_SECONDS`, read when built);
        0 logs on every call.
    :param clock: monotonic seconds (injectable for tests).
    :param total: the count at which the work's own part is done, if known (a file's size).
    :param after_total: what the time goes to once ``total`` is reached, e.g. waiting for an answer.
    """

    def __init__(
        self,
        log: Any,
        verb: str,
        unit: str,
        every: float | None = None,
        clock: Clock = time.monotonic,
        total: int | None = None,
        after_total: str = "",
    ) -> None:
        self.log = log
        self.verb = verb
        self.unit = unit
        self.total = total
        self.after_total = after_total
        self.every = PROGRESS_EVERY_SECONDS if every is None else every
        self.clock = clock
        self.started = clock()
        self._last = self.started
        self._done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, done: int) -> None:
        """Record ``done`` so far; log it unless a line was logged less than ``every`` seconds ago."""
        with self._lock:
            self._done = done
        self.tick()

    def tick(self) -> bool:
        """Log the count so far if ``every`` seconds passed since the last line; return whether it did."""
        now = self.clock()
        with self._lock:
            if now - self._last < self.every:
                return False
            self._last = now
            done = self._done
        elapsed = max(now - self.started, 1e-9)
        if self.total is not None and done >= self.total:
            # The count stopped: say what the time goes to instead of a falling rate.
            line = "%s all %s %s, %s s in; %s"
            self.log.info(line, self.verb, f"{done:,}", self.unit, f"{elapsed:,.0f}", self.after_total)
            return True
        self.log.info(
            "%s %s %s so far, %s s in (%s %s/s)",
            self.verb,
            f"{done:,}",
            self.unit,
            f"{elapsed:,.0f}",
            f"{done / elapsed:,.0f}",
            self.unit,
        )
        return True

    def _next_line_in(self) -> float:
        with self._lock:
            return max(0.0, self._last + self.every - self.clock())

    def _run(self) -> None:
        while not self._stop.wait(self._next_line_in()):
            self.tick()

    def __enter__(self) -> ProgressLog:
        if self.every <= 0:
            return self  # every call logs: nothing for a thread to add
        self._ticker = threading.Thread(target=self._run, name=f"progress-{self.verb}", daemon=True)
        self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()


class StatusLog:
    """
    Log a status seen while waiting: at once when it changes, else at most once every ``every`` seconds.

    A wait polls often; logging each poll would bury the task log, logging changes only would leave
    an hour of silence while Metrika keeps one status.

    :param log: the logger.
    :param message: the line's format, with one ``%s`` for the status.
    :param every: seconds between two lines of an unchanged status (default
        :data:`STATUS_EVERY_SECONDS`, read when built).
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self, log: Any, message: str, every: float | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.log = log
        self.message = message
        self.every = STATUS_EVERY_SECONDS if every is None else every
        self.clock = clock
        self._status: str | None = None
        self._last = 0.0

    def __call__(self, status: str) -> bool:
        """Log ``status`` if it changed or ``every`` seconds passed since the last line; return whether."""
        now = self.clock()
        if status == self._status and now - self._last < self.every:
            return False
        self._status, self._last = status, now
        self.log.info(self.message, status)
        return True
