"""The settle trigger: sleeps until its moment, yields one event, rebuilds from its kwargs."""

from __future__ import annotations

import asyncio
import time

from airflow.triggers.base import TriggerEvent

from airflow_provider_metrika.triggers.settle import EVENT_SETTLED, MetrikaSettleTrigger


async def test_it_yields_one_event_once_the_moment_has_passed() -> None:
    moment = time.time() + 0.5

    events = [event async for event in MetrikaSettleTrigger(moment=moment).run()]

    assert time.time() >= moment
    assert [event.payload for event in events] == [{"status": EVENT_SETTLED, "moment": moment}]


async def test_a_moment_in_the_past_fires_at_once() -> None:
    async def events() -> list[TriggerEvent]:
        return [event async for event in MetrikaSettleTrigger(moment=time.time() - 3600).run()]

    # An hour late: a trigger that slept anyway would far outlast this bound, however loaded the machine.
    fired = await asyncio.wait_for(events(), 60)

    assert len(fired) == 1


def test_it_serialises_to_its_moment_only() -> None:
    path, kwargs = MetrikaSettleTrigger(moment=1_700_000_000.5).serialize()

    assert path == "airflow_provider_metrika.triggers.settle.MetrikaSettleTrigger"
    assert kwargs == {"moment": 1_700_000_000.5}
    assert MetrikaSettleTrigger(**kwargs).moment == 1_700_000_000.5
