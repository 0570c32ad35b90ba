"""
Two runs sharing one sync state, in every order their steps and Metrika's applications can take.

Each run (a normal sync or a full refresh) takes four steps: ``begin`` (read the state, record the
orders about to be sent), ``post`` (Metrika applies them, as it does when the file is stored),
``answer`` (the upload's ``ACCEPTED`` receipt) and ``commit`` (its ``PASSED`` receipt and a
compaction); a run may also die after its POST. Every interleaving of two runs is played through
the real sync state (change files, receipts, folds, compactions on disk) against a model of what
Metrika holds, and two promises are checked:

- the state never claims a value Metrika may not hold: every order it names with a fingerprint has
  that fingerprint in Metrika;
- an order whose last application is uncertain is sent again: a third run, started once both are
  over, leaves Metrika holding exactly its source, and the state agreeing.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airflow_provider_metrika.simple_orders.sync_state import Destination, RowChanges, SentOrders
from airflow_provider_metrika.sync.changed_only import ChangedOnlySync, SyncCounts
from airflow_provider_metrika.sync.changes import write_receipt
from airflow_provider_metrika.sync.store import load_state, state_location

HERE = Destination("api-metrika.yandex.net", 12345)
LOG = logging.getLogger("test-sync-interleavings")
COLUMNS = ["id", "revenue"]
#: Order keys and (odd, as row fingerprints are) fingerprints of each source.
BEFORE = {1: 11, 2: 21, 5: 51}
SOURCE_A = {1: 13, 2: 23, 3: 33, 4: 43, 5: 51}
SOURCE_B = {1: 15, 2: 21, 3: 35, 5: 51}
STEPS = ("begin", "post", "answer", "commit")


@dataclass
class Run:
    """One task's sync: its source, its kind, and how far it gets."""

    name: str
    source: dict[int, int]
    full_refresh: bool
    steps: tuple[str, ...] = STEPS
    sync: ChangedOnlySync | None = None
    upload: str | None = None
    sent: dict[int, int] = field(default_factory=dict)

    def step(self, step: str, base: Path, metrika: dict[int, int], workdir: Path) -> None:
        """Take one step."""
        if step == "begin":
            self._begin(base, workdir)
        elif step == "post":
            metrika.update(self.sent)  # Metrika applies the file as it stores it
        elif step == "answer" and self.upload is not None:
            assert self.sync is not None
            self.sync.accepted(self.upload, [{"uploading_id": f"{self.name}-1", "datetime": None}])
        elif step == "commit":
            assert self.sync is not None
            self.sync.commit(self.upload, _report(self.sent), validated=True)

    def _begin(self, base: Path, workdir: Path) -> None:
        self.sync = ChangedOnlySync(f"sync_{self.name}", str(base), HERE, self.full_refresh, LOG)
        state = self.sync.read()
        keys = np.array(sorted(self.source), dtype=np.uint64)
        values = np.array([self.source[k] for k in sorted(self.source)], dtype=np.uint64)
        changes = RowChanges(keys, values, state.previous(keys), state.send_all)
        orders = SentOrders(workdir / f"{self.name}.arrow")
        send = orders.select(changes)
        self.sent = {int(k): int(v) for k, v in zip(keys[send], values[send], strict=True)}
        path = orders.close()
        self.upload = self.sync.begin(path, _report(self.sent)) if self.sent else None


def _report(sent: dict[int, int]) -> SyncCounts:
    return SyncCounts(tuple(COLUMNS), new=0, changed=len(sent), unchanged=0, sent=len(sent))


def _play(
    base: Path, workdir: Path, metrika: dict[int, int], runs: list[Run], order: tuple[str, ...]
) -> None:
    progress = {run.name: iter(run.steps) for run in runs}
    by_name = {run.name: run for run in runs}
    for name in order:
        by_name[name].step(next(progress[name]), base, metrika, workdir)


def _claims(base: Path) -> dict[int, int]:
    """Return the orders the state names with a fingerprint (odd: a row's, not a mark)."""
    state = load_state(state_location(str(base), HERE), HERE)
    return {int(k): int(v) for k, v in zip(state.keys, state.fingerprints, strict=True) if int(v) % 2 == 1}


def _assert_no_false_claim(base: Path, metrika: dict[int, int], order: tuple[str, ...]) -> None:
    wrong = {k: (v, metrika.get(k)) for k, v in _claims(base).items() if metrika.get(k) != v}
    assert not wrong, f"{' '.join(order)}: the state claims values Metrika may not hold {wrong}"


def _orders(first: Run, second: Run) -> Iterator[tuple[str, ...]]:
    """Yield every interleaving of the two runs' steps (each run's own steps in order)."""
    total = len(first.steps) + len(second.steps)
    for places in itertools.combinations(range(total), len(first.steps)):
        yield tuple(first.name if i in places else second.name for i in range(total))


def _cases() -> Iterator[Any]:
    kinds = {"sync": False, "full refresh": True}
    endings: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "both finish": (STEPS, STEPS),
        "A dies after its POST": (STEPS[:2], STEPS),
        "B dies after its POST": (STEPS, STEPS[:2]),
    }
    for (kind_a, refresh_a), (kind_b, refresh_b) in itertools.product(kinds.items(), repeat=2):
        for ending, (steps_a, steps_b) in endings.items():
            yield pytest.param(refresh_a, refresh_b, steps_a, steps_b, id=f"A {kind_a}, B {kind_b}, {ending}")


@pytest.mark.parametrize(("refresh_a", "refresh_b", "steps_a", "steps_b"), list(_cases()))
def test_every_interleaving_of_two_runs_leaves_a_state_metrika_agrees_with(
    tmp_path: Path, refresh_a: bool, refresh_b: bool, steps_a: tuple[str, ...], steps_b: tuple[str, ...]
) -> None:
    played = 0
    for number, order in enumerate(_orders(Run("A", {}, False, steps_a), Run("B", {}, False, steps_b))):
        base, workdir = tmp_path / f"{number}" / "state", tmp_path / f"{number}" / "work"
        workdir.mkdir(parents=True)
        metrika: dict[int, int] = {}
        before = Run("before", BEFORE, False)
        _play(base, workdir, metrika, [before], ("before",) * 4)
        runs = [Run("A", SOURCE_A, refresh_a, steps_a), Run("B", SOURCE_B, refresh_b, steps_b)]

        _play(base, workdir, metrika, runs, order)

        _assert_no_false_claim(base, metrika, order)
        _play(base, workdir, metrika, [Run("C", SOURCE_B, False)], ("C",) * 4)
        held = {k: metrika.get(k) for k in SOURCE_B}
        assert held == SOURCE_B, f"{' '.join(order)}: a third run left Metrika holding {held}"
        _assert_no_false_claim(base, metrika, order)
        for run in runs:
            if run.steps != STEPS and run.upload is not None:
                # The dead run's upload outlives the grace period: its fate is unknown for good.
                write_receipt(state_location(str(base), HERE), run.upload, "UNKNOWN")
        _play(base, workdir, metrika, [Run("D", SOURCE_B, False)], ("D",) * 4)
        assert {k: v for k, v in _claims(base).items() if k in SOURCE_B} == SOURCE_B, " ".join(order)
        assert {k: metrika.get(k) for k in SOURCE_B} == SOURCE_B, " ".join(order)
        played += 1
    assert played == len(list(_orders(Run("A", {}, False, steps_a), Run("B", {}, False, steps_b))))
