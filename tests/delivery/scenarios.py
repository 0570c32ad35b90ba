"""
The delivery suite's scenarios, what each must end in, and the docs table rendered from them.

Every test of the suite measures an :class:`Outcome` from what the emulator stored and what
Airflow recorded, and asserts it equals the scenario's. The table in ``docs/delivery.md`` is
:func:`render_table` of these same outcomes (``python -m tests.delivery.scenarios`` prints it; a
test checks that the page holds it), so the table says what the suite observed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_metrika.emulator.testing import EmulatorClient


@dataclass(frozen=True)
class Outcome:
    """
    What a scenario ended in, measured.

    :param orders: what Metrika (the emulator) holds of the input's orders.
    :param posts: how many upload requests reached it.
    :param task: the upload task's final state and tries.
    """

    orders: str
    posts: int
    task: str

    def cells(self) -> list[str]:
        """Return the table cells."""
        return [self.orders, str(self.posts), self.task]


@dataclass(frozen=True)
class Scenario:
    """
    One thing Airflow, the network or the worker does to an upload.

    :param key: the test's name for it.
    :param what: what happens.
    :param airflow: how Airflow takes part.
    :param outcome: what the suite observes.
    """

    key: str
    what: str
    airflow: str
    outcome: Outcome


def orders_outcome(
    metrika: EmulatorClient,
    counter: int,
    ids: set[str],
    without_id: int = 0,
    *,
    others: frozenset[str] = frozenset(),
) -> str:
    """
    Describe how the input's orders landed on a counter.

    :param metrika: the emulator.
    :param counter: the counter.
    :param ids: the input's order ids.
    :param without_id: how many input rows have no id.
    :param others: ids of other runs' orders that may be on the counter too.
    """
    stored = metrika.orders(counter)
    mine = set(stored["orders"]) - set(others)
    applied = {k: v for k, v in stored["applied_counts"].items() if k in ids}
    total = len(ids) + without_id
    if mine != ids:
        missing = sorted(ids - mine)
        return f"missing {', '.join(missing) or 'none'}; unexpected {', '.join(sorted(mine - ids)) or 'none'}"
    if len(stored["orders_without_id"]) > without_id:
        return f"rows without id stored {len(stored['orders_without_id'])} times for {without_id}"
    if len(stored["orders_without_id"]) < without_id:
        return f"{without_id - len(stored['orders_without_id'])} rows without id missing"
    twice = sum(1 for count in applied.values() if count > 1)
    if twice:
        return f"all {total} stored, each once ({twice} applied twice: SAVE replaced them)"
    return f"all {total} stored, each once"


def offline_outcome(rows: list[dict[str, Any]], total: int) -> str:
    """Describe how offline conversions or calls landed: each stored row once, or what differs.

    :param rows: what the emulator stored (conversions carry ``writes``; a call sent twice is two rows).
    :param total: the input's rows.
    """
    if len(rows) != total:
        return f"{len(rows)} stored for {total}"
    twice = sum(1 for row in rows if int(row.get("writes", 1)) > 1)
    return f"all {total} stored, each once" + (f" ({twice} written twice)" if twice else "")


def task_outcome(state: str | None, tries: int, task: str = "") -> str:
    """Describe a task's end: state and tries (the upload task's unless ``task`` names another)."""
    return f"{task + ' ' if task else ''}{state} after {tries} {'try' if tries == 1 else 'tries'}"


_SAMPLE = "the sample file (2 rows with `id`, 1 without)"

SCENARIOS: list[Scenario] = [
    Scenario(
        "lost_answer_not_listed_rows_without_id",
        f"Answer lost after Metrika stored the file, not listed yet; {_SAMPLE}",
        "`retries=2`",
        Outcome("all 3 stored, each once", 1, "failed after 1 try"),
    ),
    Scenario(
        "lost_answer_listed",
        f"Answer lost after Metrika stored the file; {_SAMPLE}",
        "`retries=2`",
        Outcome("all 3 stored, each once", 1, "success after 1 try"),
    ),
    Scenario(
        "lost_answer_not_listed_every_row_has_id",
        "Answer lost after Metrika stored the file, not listed yet; `SAVE`, every row has an `id`",
        "`retries=2`",
        Outcome("all 2 stored, each once (2 applied twice: SAVE replaced them)", 2, "success after 1 try"),
    ),
    Scenario(
        "other_run_uploaded_as_many_rows",
        "Another run sent as many rows to the counter just before; this run's upload is answered "
        "504 before Metrika stores it; every row has an `id`",
        "a second DAG run",
        Outcome("all 2 stored, each once", 2, "success after 1 try"),
    ),
    Scenario(
        "other_run_uploaded_as_many_rows_rows_without_id",
        "As above, rows without `id`",
        "a second DAG run",
        Outcome("missing o-3, o-4; unexpected none", 1, "failed after 1 try"),
    ),
    Scenario(
        "fails_after_execute_returned",
        "Two rows without `id`, `APPEND`; the upload is accepted, then a `post_execute` fails the try",
        "`retries=1`",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "map_index_template_fails_after_execute",
        "As above, in a mapped task whose `map_index_template` fails when rendered after `execute`",
        "`.expand`, `retries=1`",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "mapped_tasks_on_one_counter",
        "Two mapped tasks on one counter, 2 rows each; the first upload is answered 504 before storing",
        "`.expand(counter_id=[c, c])`",
        Outcome("all 4 stored, each once", 3, "success after 1 try"),
    ),
    Scenario(
        "identical_parts_in_one_task",
        "A POS export without ids, two customers buying twice: two parts with equal bytes",
        "one try",
        Outcome("all 4 stored, each once", 2, "success after 1 try"),
    ),
    Scenario(
        "source_moved_between_tries",
        "`APPEND`, rows without `id`, 3 parts: part 1 accepted, part 2 refused by quota; a late order "
        "lands at the top of the source before the retry",
        "`retries=2`",
        Outcome("4 rows without id missing", 3, "failed after 2 tries"),
    ),
    Scenario(
        "source_moved_between_tries_archived",
        "As above, with `archive_path=`: the retry sends the first try's staged parts",
        "`retries=2`",
        Outcome("all 6 stored, each once", 5, "success after 2 tries"),
    ),
    Scenario(
        "force_resend_same_try",
        f"`force_resend` set by the run's params; the answer is lost after Metrika stored the file, "
        f"not listed yet; {_SAMPLE}",
        "`retries=2`",
        Outcome("all 3 stored, each once", 1, "failed after 1 try"),
    ),
    Scenario(
        "rejects_path_in_a_new_folder",
        "Too many rows rejected; `rejects_path` in a folder that does not exist yet",
        "`retries=2`",
        Outcome("none sent", 0, "failed after 3 tries"),
    ),
    Scenario(
        "task_process_killed_save_with_ids",
        "Task process SIGKILLed after Metrika stored the file, before the answer; `SAVE`, ids",
        "scheduler retry (`airflow standalone`)",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "task_process_killed_append_without_ids",
        "As above, `APPEND`, rows without `id`",
        "scheduler retry (`airflow standalone`)",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "conversions_task_process_killed",
        "Offline conversions: task process SIGKILLed after Metrika stored the file, before the answer",
        "scheduler retry (`airflow standalone`): found by its comment",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "calls_task_process_killed",
        "Calls (never re-sent blindly): as above",
        "scheduler retry (`airflow standalone`): found by its comment",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "clear_after_success_with_another_counter",
        "Task succeeded; its connection is then pointed at another counter",
        "Clear (REST API, as the UI does), scheduler re-run",
        Outcome("all 2 stored, each once", 2, "success after 2 tries"),
    ),
    Scenario(
        "clear_after_a_hand_marked_success",
        "An uncertain upload (`APPEND`, rows without `id`) found in Metrika, resolved with `forget` and "
        "marked success; the counter's data is later deleted in Metrika",
        "mark success, Clear (REST API), scheduler re-run",
        Outcome("all 2 stored, each once", 1, "success after 2 tries"),
    ),
    Scenario(
        "triggerer_restarted_while_deferred",
        "The triggerer is killed and a new one started while the sensor is deferred",
        "deferrable sensor (`airflow standalone`)",
        Outcome("all 3 stored, each once", 1, "sensor success after 1 try"),
    ),
]

BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


def expected(key: str) -> Outcome:
    """Return the outcome a scenario must end in."""
    return BY_KEY[key].outcome


def render_table() -> str:
    """Render the delivery table of ``docs/delivery.md``, one row per scenario."""
    lines = [
        "| what happens | Airflow | orders in Metrika | upload requests | task |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {s.what} | {s.airflow} | {' | '.join(s.outcome.cells())} |" for s in SCENARIOS]
    return "\n".join(lines)


def describe(outcome: Any) -> str:
    """Return an outcome as one line, for assertion messages."""
    return " / ".join(outcome.cells())


if __name__ == "__main__":
    print(render_table())
