"""Injected faults: what a test asks the next API requests to suffer, and the queue that hands them out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from airflow_provider_metrika.emulator.constants import (
    DEFAULT_FAULT_ERROR_TYPE,
    DEFAULT_FAULT_ERROR_TYPES,
    DROP_AFTER,
    DROP_BEFORE,
    FAULT_TARGETS,
    TARGET_ANY,
)

_FIELDS = (
    "target",
    "times",
    "skip",
    "status",
    "error_type",
    "retry_after",
    "after_processing",
    "drop",
    "delay",
    "hold",
    "validation",
    "message",
)


@dataclass
class Fault:
    """A misbehaviour for the next ``times`` API requests that match ``target``.

    :param target: ``upload``, ``last_uploadings``, ``counter``, ``goals`` or ``any``.
    :param times: how many matching requests suffer it.
    :param skip: how many matching requests pass unharmed before it strikes (e.g. "the second upload").
    :param status: answer this HTTP status with a Metrika error body instead of the real answer.
    :param error_type: the body's ``error_type``; defaults follow the status.
    :param retry_after: sent as the ``Retry-After`` header (seconds or an HTTP date).
    :param after_processing: with ``status``, process the request fully (store the upload) first.
    :param drop: ``before``: read the body, store nothing, close the connection without answering;
        ``after``: store the upload, then close without answering.
    :param delay: seconds to wait before answering (or dropping).
    :param hold: wait until the test releases held requests (``POST /_emulator/release``), ``delay``
        seconds at most: a request kept in flight for exactly as long as a test needs it there.
    :param validation: ``FAILED``: an upload is answered as usual but listed FAILED, nothing stored.
    :param message: with ``status``, the error body's message (default: ``Injected fault: HTTP <status>``).
    """

    target: str = TARGET_ANY
    times: int = 1
    skip: int = 0
    status: int | None = None
    error_type: str | None = None
    retry_after: str | None = None
    after_processing: bool = False
    drop: str | None = None
    delay: float = 0.0
    hold: bool = False
    validation: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Fault:
        """Build and check a fault from its JSON form.

        :param data: the fault's fields; unknown keys are refused.
        :raises ValueError: on unknown keys or values out of range.
        """
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        fault = cls(**data)  # type: ignore[arg-type]
        fault._check()
        return fault

    def _check(self) -> None:
        if self.target not in FAULT_TARGETS:
            raise ValueError(f"target must be one of {', '.join(FAULT_TARGETS)}")
        if not isinstance(self.times, int) or isinstance(self.times, bool) or self.times < 1:
            raise ValueError("times must be a positive integer")
        if not isinstance(self.skip, int) or isinstance(self.skip, bool) or self.skip < 0:
            raise ValueError("skip must be a non-negative integer")
        if self.status is not None and not (
            isinstance(self.status, int) and not isinstance(self.status, bool) and 400 <= self.status <= 599
        ):
            raise ValueError("status must be an HTTP error status (400..599)")
        if self.drop not in (None, DROP_BEFORE, DROP_AFTER):
            raise ValueError(f"drop must be null, {DROP_BEFORE!r} or {DROP_AFTER!r}")
        if self.drop is not None and self.status is not None:
            raise ValueError("a fault either drops the connection or answers a status, not both")
        if not isinstance(self.delay, int | float) or self.delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        if not isinstance(self.hold, bool):
            raise ValueError("hold must be a boolean")
        if self.hold and not self.delay:
            raise ValueError("hold needs a delay: the longest the request may be held")
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            raise ValueError("retry_after must be a string (seconds or an HTTP date)")
        if self.validation not in (None, "FAILED"):
            raise ValueError("validation must be null or 'FAILED'")
        if self.message is not None and not isinstance(self.message, str):
            raise ValueError("message must be a string")
        if not isinstance(self.after_processing, bool):
            raise ValueError("after_processing must be a boolean")

    @property
    def answers_unprocessed(self) -> bool:
        """Tell whether the request must not be processed at all."""
        return self.drop == DROP_BEFORE or (self.status is not None and not self.after_processing)

    @property
    def resolved_error_type(self) -> str:
        """Return the ``error_type`` to answer with."""
        if self.error_type:
            return self.error_type
        return DEFAULT_FAULT_ERROR_TYPES.get(self.status or 0, DEFAULT_FAULT_ERROR_TYPE)

    def to_json(self) -> dict[str, object]:
        """Render the fault as JSON."""
        return asdict(self)


class FaultQueue:
    """Faults in the order they were injected; each request takes the first one aimed at it."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def extend(self, faults: list[Fault]) -> None:
        """Queue faults after the ones already waiting.

        :param faults: checked faults.
        """
        self._faults.extend(faults)

    def take(self, target: str | None) -> Fault | None:
        """Take one use of the first fault aimed at ``target``, dropping it when used up.

        :param target: the request's kind; ``None`` for requests no fault may hit.
        """
        if target is None:
            return None
        for index, fault in enumerate(self._faults):
            if fault.target in (target, TARGET_ANY):
                if fault.skip > 0:
                    # This request passes unharmed, and no later fault may take it either.
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times == 0:
                    del self._faults[index]
                return Fault(**{**asdict(fault), "times": 1, "skip": 0})
        return None

    def clear(self) -> None:
        """Forget every waiting fault."""
        self._faults.clear()

    def to_json(self) -> list[dict[str, object]]:
        """Render the waiting faults, with their remaining uses."""
        return [fault.to_json() for fault in self._faults]
