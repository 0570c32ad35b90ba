"""
How the wait looks up each kind of upload: what its statuses mean and which hook calls find it.

The trigger travels with a kind's name (a JSON primitive), the sensor and the operators take it
as an argument; everything else about a kind's wait is here, so the trigger and the sensor are the
same for every kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.waiting.uploadings import SIMPLE_ORDERS_STATUS, StatusReader

#: One look: the hook, the counter, the pending ids and how far back to search -> uploadings by id.
Find = Callable[[Any, int, list[str], str | None], Mapping[str, dict[str, Any]]]
AsyncFind = Callable[[Any, int, list[str], str | None], Awaitable[Mapping[str, dict[str, Any]]]]


@dataclass(frozen=True)
class WaitKind:
    """
    One kind of upload as the wait sees it.

    :param name: the kind's name, as the trigger's kwargs carry it.
    :param reader: what its statuses mean.
    :param find: one synchronous look at the pending uploads.
    :param afind: the same look, for the triggerer.
    :param id_field: the field of an upload's object that holds its id.
    """

    name: str
    reader: StatusReader
    find: Find
    afind: AsyncFind
    id_field: str = "id"


def _find_simple_orders(hook: Any, counter: int, ids: list[str], since: str | None) -> Mapping[str, Any]:
    return hook.find_uploadings(counter, ids, not_before=since)


async def _afind_simple_orders(
    hook: Any, counter: int, ids: list[str], since: str | None
) -> Mapping[str, Any]:
    return await hook.afind_uploadings(counter, ids, not_before=since)


def _by_id(call: str) -> Find:
    """Return a look that reads each pending upload by its id (one request per id)."""

    def find(hook: Any, counter: int, ids: list[str], since: str | None) -> Mapping[str, Any]:
        return {uploading_id: getattr(hook, call)(counter, uploading_id) for uploading_id in ids}

    return find


def _aby_id(call: str) -> AsyncFind:
    """Return the asynchronous twin of :func:`_by_id`."""

    async def afind(hook: Any, counter: int, ids: list[str], since: str | None) -> Mapping[str, Any]:
        return {uploading_id: await getattr(hook, call)(counter, uploading_id) for uploading_id in ids}

    return afind


#: The kind every wait had before kinds existed: the trigger's kwargs omit it.
SIMPLE_ORDERS: Final = "simple_orders"
#: Offline conversions and calls: processed, or processed without linking (the operator judges).
OFFLINE_CONVERSIONS: Final = "offline_conversions"
CALLS: Final = "calls"
#: Processing ends in one of these; neither is a refusal of the file (Metrika answers 400 for that).
OFFLINE_DONE: Final = frozenset({"PROCESSED", "LINKAGE_FAILURE"})
OFFLINE_STATUS: Final = StatusReader("status", OFFLINE_DONE, frozenset(), verb="processed")
#: Expenses uploads and deletes: processed (Metrika reports no refusal after accepting the file).
EXPENSES: Final = "expenses"
EXPENSES_STATUS: Final = StatusReader("status", frozenset({"PROCESSED"}), frozenset(), verb="processed")

#: Every kind, by name: listed here, not registered at import, so a triggerer knows them all.
_KINDS: Final[dict[str, WaitKind]] = {
    SIMPLE_ORDERS: WaitKind(
        SIMPLE_ORDERS, SIMPLE_ORDERS_STATUS, _find_simple_orders, _afind_simple_orders, "uploading_id"
    ),
    OFFLINE_CONVERSIONS: WaitKind(
        OFFLINE_CONVERSIONS,
        OFFLINE_STATUS,
        _by_id("get_offline_conversions_uploading"),
        _aby_id("aget_offline_conversions_uploading"),
    ),
    CALLS: WaitKind(CALLS, OFFLINE_STATUS, _by_id("get_calls_uploading"), _aby_id("aget_calls_uploading")),
    EXPENSES: WaitKind(
        EXPENSES, EXPENSES_STATUS, _by_id("get_expenses_uploading"), _aby_id("aget_expenses_uploading")
    ),
}


def wait_kind(name: str) -> WaitKind:
    """
    Return the wait of a kind by its name.

    :param name: a kind's name, e.g. ``simple_orders``.
    :raises MetrikaInvalidArgumentError: for a name no kind has.
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise MetrikaInvalidArgumentError(
            f"kind must be one of {', '.join(sorted(_KINDS))}; got {name!r}"
        ) from None
