"""
``changed_only=True`` through faults, with the operator in process (a task context per run).

Many runs through the real emulator over HTTP are too slow under ``airflow dags test`` (about 30 s
each); these drive ``execute`` as Airflow does, one task instance per run. A kill between the
acceptance of a part and the state's commit is played by a lost answer that cannot be resolved:
Metrika stored the part, the task fails, and nothing after the upload's record is written.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.conftest import COUNTER, connection_json
from tests.task_context import TaskContext, TaskInstance

HEADER = "id,create_date_time,emails,order_status,revenue\n"
#: The seed of the fault-injection loop, printed so that a failure can be replayed.
SEED = 20261201


class FlakyMemoryFileSystem(MemoryFileSystem):
    """An in-memory object store whose writes fail for names containing :attr:`fail_on`."""

    protocol = ("flaky",)
    fail_on: str | None = None

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "w" in mode and self.fail_on and self.fail_on in path:
            raise OSError(f"injected storage failure writing {path}")
        return super()._open(path, mode, **kwargs)


@pytest.fixture
def metrika_conn(metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_DEFAULT",
        connection_json(
            metrika.base_url, counter_id=COUNTER, retry_delay=0.05, max_retry_delay=0.2, lost_answer_wait=0.3
        ),
    )
    return "metrika_default"


def _write(path: Path, table: dict[str, int]) -> str:
    rows = "".join(
        f"{key},2026-11-20 10:00:00,{key}@example.com,PAID,{value}\n" for key, value in table.items()
    )
    path.write_text(HEADER + rows)
    return str(path)


def _run(source: str, state: str, run: int, *, map_index: int = -1, **kwargs: Any) -> list[dict[str, Any]]:
    operator = SimpleOrdersUploadOperator(
        task_id="sync",
        path=source,
        changed_only=True,
        sync_state=state,
        timezone="Europe/Moscow",
        max_part_bytes=kwargs.pop("max_part_bytes", 400),
        **kwargs,
    )
    task = TaskContext(TaskInstance(run_id=f"run-{run}", task_id="sync", map_index=map_index))
    return operator.execute(task.context())


def _held(metrika: EmulatorClient) -> dict[str, int]:
    return {key: int(float(order["revenue"])) for key, order in metrika.orders(COUNTER)["orders"].items()}


def test_random_part_failures_kills_and_failed_validations_over_twenty_runs_end_equal(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    print(f"fault-injection seed: {SEED}")
    rng = random.Random(SEED)
    state = str(tmp_path / "state")
    table = {f"o-{n:02d}": 100 + n for n in range(30)}
    outcomes: list[str] = []
    for run in range(20):
        for key in rng.sample(sorted(table), 5):
            # Often back to a value sent before: a revert must be sent as any change.
            table[key] = rng.choice([table[key] + 1, 100 + int(key[2:]), rng.randint(1, 999)])
        fault = rng.choice(["none", "part", "kill", "invalid"])
        part = rng.randint(0, 2)
        if fault == "part":
            metrika.inject_faults({"target": "upload", "status": 400, "skip": part})
        elif fault == "kill":
            metrika.inject_faults(
                {"target": "upload", "drop": "after", "skip": part},
                {"target": "last_uploadings", "status": 500, "times": 100},
            )
        elif fault == "invalid":
            metrika.inject_faults({"target": "upload", "validation": "FAILED", "skip": part})
        try:
            _run(_write(tmp_path / f"t{run}.csv", table), state, run, wait_for_validation=rng.random() < 0.3)
            outcomes.append(f"{fault}: success")
        except Exception as error:
            outcomes.append(f"{fault}: {type(error).__name__}")
        metrika.clear_faults()

    _run(_write(tmp_path / "final.csv", table), state, 99)

    print("\n".join(outcomes))
    assert _held(metrika) == table, f"seed {SEED}"
    assert any(not o.endswith("success") for o in outcomes), "faults struck"


@pytest.mark.parametrize("apart", [0.0, 1.0], ids=["within-milliseconds", "within-a-second"])
def test_two_mapped_tasks_on_one_counter_committing_together_keep_both_records(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, apart: float
) -> None:
    state = str(tmp_path / "state")
    north = {f"n-{n}": 100 + n for n in range(20)}
    south = {f"s-{n}": 200 + n for n in range(20)}
    sources = [_write(tmp_path / "north.csv", north), _write(tmp_path / "south.csv", south)]
    for wait in (False, True):
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def task(
            index: int, wait: bool = wait, start: threading.Barrier = start, errors: list[Any] = errors
        ) -> None:
            start.wait()
            time.sleep(apart * index)
            try:
                _run(sources[index], state, int(wait), map_index=index, wait_for_validation=wait)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=task, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        north = {key: value + 1 for key, value in north.items()}
        south = {key: value + 1 for key, value in south.items()}
        _write(tmp_path / "north.csv", north)
        _write(tmp_path / "south.csv", south)

    # Back to what the last runs sent: nothing is sent, each task's orders are held.
    north = {key: value - 1 for key, value in north.items()}
    south = {key: value - 1 for key, value in south.items()}
    before = len(metrika.uploadings(COUNTER))
    _run(_write(tmp_path / "all.csv", {**north, **south}), state, 9)
    assert len(metrika.uploadings(COUNTER)) == before, "both tasks' records were kept"
    assert _held(metrika) == {**north, **south}


def test_a_storage_failure_while_recording_leaves_the_orders_to_be_sent_again(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    import fsspec
    from airflow.sdk.io import attach

    fsspec.register_implementation("flaky", FlakyMemoryFileSystem, clobber=True)
    attach("flaky", fs=FlakyMemoryFileSystem())
    state = f"flaky://metrika-state-{uuid.uuid4().hex[:8]}/"
    table = {f"o-{n}": 100 + n for n in range(10)}
    _run(_write(tmp_path / "a.csv", table), state, 1, wait_for_validation=True)

    # The upload is recorded, then the store fails when its receipt is written: the task fails.
    FlakyMemoryFileSystem.fail_on = ".receipt.json"
    try:
        with pytest.raises(OSError, match="injected storage failure"):
            _run(_write(tmp_path / "b.csv", {**table, "o-1": 999}), state, 2, wait_for_validation=True)
        assert _held(metrika)["o-1"] == 999, "Metrika took the change"
        # The store fails before anything is sent: nothing goes.
        FlakyMemoryFileSystem.fail_on = ".rows.arrow"
        sent = len(metrika.uploadings(COUNTER))
        with pytest.raises(OSError, match="injected storage failure"):
            _run(_write(tmp_path / "c.csv", {**table, "o-2": 555}), state, 3)
        assert len(metrika.uploadings(COUNTER)) == sent, "not recorded: not sent"
    finally:
        FlakyMemoryFileSystem.fail_on = None

    # The warehouse reverts o-1: the revert is sent, since Metrika's 999 was never confirmed.
    _run(_write(tmp_path / "d.csv", table), state, 4)
    assert _held(metrika) == table
