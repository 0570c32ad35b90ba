"""Everything the emulator remembers: settings, orders, uploadings, the request log and waiting faults."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime

from airflow_provider_metrika.emulator.constants import (
    DEFAULT_COUNTER_ID,
    DEFAULT_TIME_ZONE,
    DEFAULT_TOKEN,
    MAX_FILE_BYTES,
    parse_counter_id,
)
from airflow_provider_metrika.emulator.expenses_state import ExpensesState
from airflow_provider_metrika.emulator.faults import FaultQueue
from airflow_provider_metrika.emulator.goals import default_goals, parse_goals
from airflow_provider_metrika.emulator.linking import Visit
from airflow_provider_metrika.emulator.offline_state import OfflineState
from airflow_provider_metrika.emulator.orders import OrderStore
from airflow_provider_metrika.emulator.scopes import parse_scopes
from airflow_provider_metrika.emulator.uploadings import Uploading

#: Settings that ``reset`` puts back to their startup values; tokens and counters are kept.
_KNOBS = (
    "listing_delay",
    "status_delay",
    "hold_listing",
    "parallel_limit",
    "max_file_bytes",
    "store_orders",
    "echo_titles",
    "last_uploadings_needs_read",
    "goals",
)
#: Set through ``tokens`` only, never as a key of its own.
_DERIVED = ("token_scopes",)


def _non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer")
    return value


@dataclass
class EmulatorSettings:
    """Who may call the emulator, which counters exist, and how it paces its answers.

    :param tokens: OAuth token to the counters it may use; ``None`` grants every counter.
    :param token_scopes: OAuth token to the scopes it was issued with; a token not listed has every
        scope (the emulator's historical behaviour).
    :param counters: counter id to its time zone name.
    :param listing_delay: seconds after creation before an uploading appears in ``last_uploadings``.
    :param status_delay: seconds after being listed during which an uploading reads ``IN_PROGRESS``.
    :param hold_listing: uploadings created while this is on are not listed until the test releases
        them (``POST /_emulator/release``), however long that takes.
    :param parallel_limit: most API requests one token may have in flight; ``None`` for no limit.
    :param max_file_bytes: largest accepted file part; Metrika's limit is 1 GB.
    :param store_orders: keep applied orders; turn off to push huge files through without holding
        their rows in memory (uploadings are still recorded).
    :param echo_titles: show the uploaded file's name as ``uploading_title``; whether Metrika does
        is unconfirmed, so clients are tested both ways.
    :param last_uploadings_needs_read: answer ``last_uploadings`` only to tokens with ``metrika:read``
        (Metrika's docs do not say; by default any of read, write or offline_data will do).
    :param goals: counter id to its goal objects; a counter not listed has :func:`default_goals`.
    """

    tokens: dict[str, frozenset[int] | None] = field(default_factory=lambda: {DEFAULT_TOKEN: None})
    token_scopes: dict[str, frozenset[str]] = field(default_factory=dict)
    counters: dict[int, str] = field(default_factory=lambda: {DEFAULT_COUNTER_ID: DEFAULT_TIME_ZONE})
    listing_delay: float = 0.0
    status_delay: float = 0.0
    hold_listing: bool = False
    parallel_limit: int | None = None
    max_file_bytes: int = MAX_FILE_BYTES
    store_orders: bool = True
    echo_titles: bool = True
    last_uploadings_needs_read: bool = False
    goals: dict[int, list[dict[str, object]]] = field(default_factory=dict)

    def goals_of(self, counter_id: int) -> list[dict[str, object]]:
        """Return a counter's goals as the management API lists them.

        :param counter_id: an existing counter.
        """
        return self.goals[counter_id] if counter_id in self.goals else default_goals()

    def updated(self, data: Mapping[str, object]) -> EmulatorSettings:
        """Return a copy with the given JSON settings applied; ``tokens`` and ``counters`` are replaced whole.

        :param data: any of the dataclass fields, in their JSON form.
        :raises ValueError: on unknown keys or bad values.
        """
        unknown = sorted(set(data) - {f.name for f in fields(self)} | (set(data) & set(_DERIVED)))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        changes: dict[str, object] = {}
        if "tokens" in data:
            changes["tokens"], changes["token_scopes"] = _parse_tokens(data["tokens"])
        if "counters" in data:
            changes["counters"] = _parse_counters(data["counters"])
        for name in ("listing_delay", "status_delay"):
            if name in data:
                changes[name] = _non_negative(name, data[name])
        if "parallel_limit" in data:
            limit = data["parallel_limit"]
            changes["parallel_limit"] = None if limit is None else _positive_int("parallel_limit", limit)
        if "max_file_bytes" in data:
            changes["max_file_bytes"] = _positive_int("max_file_bytes", data["max_file_bytes"])
        if "goals" in data:
            changes["goals"] = parse_goals(data["goals"])
        for name in ("store_orders", "echo_titles", "last_uploadings_needs_read", "hold_listing"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise ValueError(f"{name} must be a boolean")
                changes[name] = data[name]
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        """Render the settings as JSON (counter ids become string keys)."""
        return {
            "tokens": {token: self._token_json(token) for token in self.tokens},
            "counters": {str(counter_id): zone for counter_id, zone in self.counters.items()},
            **{name: getattr(self, name) for name in _KNOBS if name != "goals"},
            "goals": {str(counter_id): goals for counter_id, goals in self.goals.items()},
        }

    def _token_json(self, token: str) -> object:
        counters = self.tokens[token]
        shown = None if counters is None else sorted(counters)
        if token not in self.token_scopes:
            return shown
        return {"counters": shown, "scopes": sorted(self.token_scopes[token])}


def _parse_counter_list(counters: object) -> frozenset[int] | None:
    if counters is None:
        return None
    if isinstance(counters, str) or not isinstance(counters, Iterable):
        raise ValueError(f"counters of a token must be a list or null, got {counters!r}")
    return frozenset(parse_counter_id(c) for c in counters)


def _parse_tokens(value: object) -> tuple[dict[str, frozenset[int] | None], dict[str, frozenset[str]]]:
    """Read ``{token: null | [counter, ...] | {"counters": ..., "scopes": [scope, ...] | null}}``."""
    if not isinstance(value, Mapping):
        raise ValueError("tokens must be an object of token to a list of counter ids, null, or an object")
    tokens: dict[str, frozenset[int] | None] = {}
    scopes: dict[str, frozenset[str]] = {}
    for token, grant in value.items():
        if not isinstance(token, str) or not token:
            raise ValueError("tokens must be non-empty strings")
        if isinstance(grant, Mapping):
            extra = sorted(set(grant) - {"counters", "scopes"})
            if extra:
                raise ValueError(f"token {token!r}: unknown keys {', '.join(map(str, extra))}")
            tokens[token] = _parse_counter_list(grant.get("counters"))
            granted = grant.get("scopes")
            if granted is not None:
                if isinstance(granted, str) or not isinstance(granted, Iterable):
                    raise ValueError(f"scopes of token {token!r} must be a list or null, got {granted!r}")
                scopes[token] = parse_scopes(granted)
        else:
            tokens[token] = _parse_counter_list(grant)
    return tokens, scopes


def _parse_counters(value: object) -> dict[int, str]:
    if not isinstance(value, Mapping):
        raise ValueError("counters must be an object of counter id to time zone name")
    counters = {}
    for counter_id, zone in value.items():
        if not isinstance(zone, str) or not zone:
            raise ValueError(f"time zone of counter {counter_id} must be a non-empty string")
        counters[parse_counter_id(counter_id)] = zone
    return counters


class EmulatorState:
    """The mutable memory of one emulator.

    Handlers run on the event loop; only the apply step of an upload runs in a worker thread, and it
    holds :attr:`lock` while it changes an order store, as do readers of the stores.

    :param settings: the startup settings; ``reset`` returns the pacing knobs to these.
    """

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self._startup = settings
        self.lock = threading.Lock()
        self.faults = FaultQueue()
        self.request_log: list[dict[str, object]] = []
        self.in_flight: dict[str, int] = {}
        #: Requests waiting on a ``hold`` fault, and what releases them.
        self.held = 0
        self._release = asyncio.Event()
        self._stores: dict[int, OrderStore] = {}
        self._uploadings: dict[int, list[Uploading]] = {}
        self._visits: dict[int, list[Visit]] = {}
        self._sequence = itertools.count(1)
        #: Offline conversions and calls, changed on the event loop only.
        self.offline = OfflineState()
        #: Ad expenses, changed on the event loop only.
        self.expenses = ExpensesState()

    def reset(self) -> None:
        """Forget orders, visits, uploadings, offline data, the request log and faults; restore the knobs."""
        with self.lock:
            self._stores.clear()
            self._visits.clear()
        self._uploadings.clear()
        self.offline.clear()
        self.expenses.clear()
        self.request_log.clear()
        self.faults.clear()
        self.release()
        self.settings = replace(self.settings, **{name: getattr(self._startup, name) for name in _KNOBS})

    async def hold(self, seconds: float) -> None:
        """Wait until :meth:`release` is called, ``seconds`` at most (on the event loop).

        :param seconds: the longest wait.
        """
        released = self._release
        self.held += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), seconds)
        finally:
            self.held -= 1

    def release(self) -> int:
        """Let held requests go on, list or process held uploadings; return how many requests were held."""
        held = self.held
        self._release.set()
        self._release = asyncio.Event()
        for uploadings in self._uploadings.values():
            for uploading in uploadings:
                uploading.held = False
        self.offline.release()
        self.expenses.release()
        return held

    def order_store(self, counter_id: int) -> OrderStore:
        """Return the counter's order store, creating it empty; call it holding :attr:`lock`.

        :param counter_id: the counter.
        """
        return self._stores.setdefault(counter_id, OrderStore())

    def visits(self, counter_id: int) -> list[Visit]:
        """Return the counter's seeded visits, oldest seeded first.

        :param counter_id: the counter.
        """
        return list(self._visits.get(counter_id, []))

    def add_visits(self, counter_id: int, visits: Iterable[Visit]) -> int:
        """Add seeded visits to a counter and return how many it has.

        :param counter_id: the counter.
        :param visits: the visits.
        """
        with self.lock:
            stored = self._visits.setdefault(counter_id, [])
            stored.extend(visits)
            return len(stored)

    def uploadings(self, counter_id: int) -> list[Uploading]:
        """Return the counter's uploadings, oldest first.

        :param counter_id: the counter.
        """
        return list(self._uploadings.get(counter_id, []))

    def add_uploading(
        self,
        counter_id: int,
        *,
        status: str,
        elements_count: int,
        title: str,
        errors: list[str],
        details: dict[str, object],
    ) -> Uploading:
        """Record a finished upload and return it.

        :param counter_id: the counter it went to.
        :param status: ``PASSED`` or ``FAILED``.
        :param elements_count: data rows in the file.
        :param title: the part's file name.
        :param errors: validation problems.
        :param details: emulator-only facts shown through the control API.
        """
        uploading = Uploading(
            sequence=next(self._sequence),
            created_at=datetime.now(UTC),
            status=status,
            elements_count=elements_count,
            title=title,
            errors=errors,
            details=details,
            held=self.settings.hold_listing,
        )
        self._uploadings.setdefault(counter_id, []).append(uploading)
        return uploading
