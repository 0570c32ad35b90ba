"""A task's execution context in process: a task instance with XCom and a task state store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from airflow.sdk import Context


class TaskStateStore:
    """
    The task state store of one task instance (Airflow 3.3+): JSON values by key, kept across tries.

    Values are kept as JSON text, as Airflow keeps them in its metadata database: what a read returns
    is what JSON gives back (a tuple comes back a list, a dict's number keys come back text), and a
    value JSON cannot hold, or None, is refused when it is set.
    """

    def __init__(self) -> None:
        #: The JSON text of each value, by key.
        self.values: dict[str, str] = {}
        #: The ``retention`` each key was last written with.
        self.retentions: dict[str, timedelta | None] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """Return a value read back from its JSON text, or ``default``."""
        raw = self.values.get(key)
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        """Keep a value as JSON text, and the ``retention`` it was written with (nothing expires here)."""
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.dumps(value)
        self.retentions[key] = retention

    def delete(self, key: str) -> None:
        """Drop a value."""
        self.values.pop(key, None)

    def clear(self) -> None:
        """Drop every value."""
        self.values.clear()


@dataclass
class TaskInstance:
    """The parts of a runtime task instance the provider uses."""

    dag_id: str = "in_process"
    run_id: str = "manual__2024-01-09T00:00:00+00:00"
    task_id: str = "upload"
    map_index: int = -1
    try_number: int = 1
    max_tries: int = 0
    xcoms: dict[tuple[str, str, int], Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        """Push an XCom of this task instance."""
        self.xcoms[(self.task_id, key, self.map_index)] = value

    def xcom_pull(
        self, task_ids: str | None = None, key: str = "return_value", map_indexes: Any = None
    ) -> Any:
        """Pull an XCom pushed by a task instance of this run."""
        index = self.map_index if map_indexes is None else map_indexes
        return self.xcoms.get((task_ids or self.task_id, key, index))


@dataclass
class DagRun:
    """The parts of a runtime DAG run the provider uses."""

    clear_number: int = 0


@dataclass
class TaskContext:
    """A task instance and its store, across its tries: :meth:`context` builds each try's context."""

    ti: TaskInstance = field(default_factory=TaskInstance)
    store: TaskStateStore | None = field(default_factory=TaskStateStore)
    dag_run: DagRun = field(default_factory=DagRun)

    def context(self) -> Context:
        """Return the execution context of the current try."""
        context: dict[str, Any] = {"ti": self.ti, "dag_run": self.dag_run, "outlet_events": {}}
        if self.store is not None:
            context["task_state_store"] = self.store
        return cast("Context", context)

    def retry(self) -> Context:
        """Start the next try as Airflow does on a retry, and return its context."""
        self.ti.try_number += 1
        return self.context()

    def clear(self, retries: int = 0) -> Context:
        """Start the next try as Airflow does on a Clear (a new series of tries), and return its context."""
        self.ti.max_tries = self.ti.try_number + retries
        self.dag_run.clear_number += 1
        return self.retry()

    def succeed(self, task: Any) -> None:
        """Run the task's success callbacks, as Airflow does once it has recorded the try's success."""
        callbacks = task.on_success_callback or []
        for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
            callback(self.context())
