"""Trigger that waits, in the triggerer, until a moment has passed (Metrika's reports have settled)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

#: The longest single sleep: a long wait wakes up now and then, so a moved clock is noticed.
MAX_SLEEP = 60.0
EVENT_SETTLED = "settled"


class MetrikaSettleTrigger(BaseTrigger):
    """
    Sleep until ``moment`` (seconds since the epoch), then yield one ``{"status": "settled"}`` event.

    Nothing is asked of Metrika while waiting, so a restarted triggerer only sleeps again until the
    same moment. Kwargs are JSON primitives only.

    :param moment: when to fire, in seconds since the epoch.
    """

    def __init__(self, *, moment: float) -> None:
        super().__init__()
        self.moment = float(moment)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the import path and kwargs that rebuild this trigger."""
        return (f"{type(self).__module__}.{type(self).__qualname__}", {"moment": self.moment})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep until the moment, then yield exactly one event."""
        while (remaining := self.moment - time.time()) > 0:
            await asyncio.sleep(min(remaining, MAX_SLEEP))
        yield TriggerEvent({"status": EVENT_SETTLED, "moment": self.moment})
