"""
Delivery under `airflow dags test`: lost answers across Airflow retries, and runs sharing a counter.

Real Airflow runs the delivery DAGs against the emulator; each test measures what the emulator
stored and what Airflow recorded, and compares it with its scenario in ``scenarios.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import MetadataDb, run_airflow
from tests.conftest import COUNTER
from tests.delivery.environment import delivery_env
from tests.delivery.scenarios import Outcome, describe, expected, orders_outcome, render_table, task_outcome

SAMPLE_IDS = {"s_ord1", "s_ord2"}


@pytest.fixture
def env(dag_env: dict[str, str], metrika: EmulatorClient) -> dict[str, str]:
    """``dags test`` environment on the delivery DAGs; a lost answer is looked for during 1 s."""
    return delivery_env(dag_env, metrika.base_url)


def _orders_file(path: Path, ids: list[str], with_ids: bool = True) -> Path:
    lines = ["id,create_date_time,emails"]
    lines += [f"{i if with_ids else ''},2024-01-09 10:00:00,{i}@example.com" for i in ids]
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(env: dict[str, str], dag_id: str, conf: dict[str, object]) -> tuple[MetadataDb, str, str]:
    result = run_airflow(["dags", "test", dag_id, "--conf", json.dumps(conf)], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    return db, db.latest_run_id(dag_id), result.output


def _upload_task(db: MetadataDb, dag_id: str, run_id: str, task_id: str = "upload") -> str:
    state = db.task_states(dag_id, run_id)[task_id]
    return task_outcome(state, db.task_tries(dag_id, run_id, task_id))


def _posts(metrika: EmulatorClient) -> int:
    return len(metrika.api_requests(path_contains="simple_orders"))


def test_a_lost_answer_not_yet_listed_fails_without_retry_when_resending_would_duplicate(
    metrika: EmulatorClient, env: dict[str, str], sample_csv: str
) -> None:
    metrika.configure(listing_delay=600)
    metrika.inject_faults({"target": "upload", "drop": "after"})

    db, run_id, output = _run(env, "delivery_upload", {"orders_uri": sample_csv})

    outcome = Outcome(
        orders_outcome(metrika, COUNTER, SAMPLE_IDS, without_id=1),
        _posts(metrika),
        _upload_task(db, "delivery_upload", run_id),
    )
    assert outcome == expected("lost_answer_not_listed_rows_without_id"), describe(outcome) + output[-3000:]
    assert "MetrikaUploadUncertainError" in output
    assert "python -m airflow_provider_metrika.delivery resend --dag-id delivery_upload" in output
    assert "python -m airflow_provider_metrika.delivery forget --dag-id delivery_upload" in output
    sent_name = metrika.api_requests(path_contains="simple_orders")[0]["multipart"][0]["filename"]
    assert sent_name in output, "the message names the file as Metrika knows it"


def test_a_lost_answer_is_adopted_by_the_uploads_unique_name(
    metrika: EmulatorClient, env: dict[str, str], sample_csv: str
) -> None:
    metrika.inject_faults({"target": "upload", "drop": "after"})

    db, run_id, output = _run(env, "delivery_upload", {"orders_uri": sample_csv})

    outcome = Outcome(
        orders_outcome(metrika, COUNTER, SAMPLE_IDS, without_id=1),
        _posts(metrika),
        _upload_task(db, "delivery_upload", run_id),
    )
    assert outcome == expected("lost_answer_listed"), describe(outcome) + output[-3000:]
    [uploading] = db.xcom("delivery_upload", run_id, "upload")
    assert uploading["uploading_id"] == metrika.uploadings(COUNTER)[0]["uploading_id"]


def test_a_lost_answer_not_yet_listed_is_resent_when_every_row_has_an_id_and_mode_is_save(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    metrika.configure(listing_delay=600)
    metrika.inject_faults({"target": "upload", "drop": "after"})
    orders = _orders_file(tmp_path / "orders.csv", ["o-1", "o-2"])

    db, run_id, output = _run(env, "delivery_upload", {"orders_uri": str(orders)})

    outcome = Outcome(
        orders_outcome(metrika, COUNTER, {"o-1", "o-2"}),
        _posts(metrika),
        _upload_task(db, "delivery_upload", run_id),
    )
    assert outcome == expected("lost_answer_not_listed_every_row_has_id"), describe(outcome) + output[-3000:]
    names = [r["multipart"][0]["filename"] for r in metrika.api_requests(path_contains="simple_orders")]
    assert len(set(names)) == 2, "the re-send has a name of its own"


def test_a_try_failed_after_execute_returned_is_retried_without_sending_again(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    orders = _orders_file(tmp_path / "orders.csv", ["w-1", "w-2"], with_ids=False)
    conf: dict[str, object] = {"orders_uri": str(orders), "marker": str(tmp_path / "failed-once")}

    db, run_id, output = _run(env, "delivery_fails_after_execute", conf)

    outcome = Outcome(
        orders_outcome(metrika, COUNTER, set(), without_id=2),
        _posts(metrika),
        _upload_task(db, "delivery_fails_after_execute", run_id),
    )
    assert outcome == expected("fails_after_execute_returned"), describe(outcome) + output[-3000:]
    assert "post_execute failed after the upload was accepted" in output
    assert "accepted in an earlier try as uploading" in output


def test_a_mapped_try_whose_map_index_template_fails_after_execute_is_retried_without_sending_again(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    orders = _orders_file(tmp_path / "orders.csv", ["w-1", "w-2"], with_ids=False)

    db, run_id, output = _run(env, "delivery_map_index_fails", {"orders_uri": str(orders)})

    state = db.task_states("delivery_map_index_fails", run_id)["upload[0]"]
    tries = db.task_tries("delivery_map_index_fails", run_id, "upload", map_index=0)
    outcome = Outcome(
        orders_outcome(metrika, COUNTER, set(), without_id=2), _posts(metrika), task_outcome(state, tries)
    )
    assert outcome == expected("map_index_template_fails_after_execute"), describe(outcome) + output[-3000:]
    assert "map_index_template failed after the upload was accepted" in output


@pytest.mark.parametrize("with_ids", [True, False], ids=["every row has an id", "rows without id"])
def test_a_run_never_takes_another_runs_upload_of_as_many_rows_for_its_own(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path, with_ids: bool
) -> None:
    first = _orders_file(tmp_path / "first.csv", ["o-1", "o-2"], with_ids)
    second = _orders_file(tmp_path / "second.csv", ["o-3", "o-4"], with_ids)
    db, first_run, output = _run(env, "delivery_upload", {"orders_uri": str(first)})
    assert db.run_state("delivery_upload", first_run) == "success", output[-3000:]
    [first_uploading] = db.xcom("delivery_upload", first_run, "upload")
    metrika.inject_faults({"target": "upload", "status": 504})

    db, run_id, output = _run(env, "delivery_upload", {"orders_uri": str(second)})

    if with_ids:
        orders = orders_outcome(metrika, COUNTER, {"o-3", "o-4"}, others=frozenset({"o-1", "o-2"}))
        key = "other_run_uploaded_as_many_rows"
    else:
        # Rows without id are kept apart: the second run's must be the 2 rows beyond the first run's.
        stored = len(metrika.orders(COUNTER)["orders_without_id"])
        orders = "missing o-3, o-4; unexpected none" if stored == 2 else f"{stored} rows without id stored"
        key = "other_run_uploaded_as_many_rows_rows_without_id"
    outcome = Outcome(orders, _posts(metrika) - 1, _upload_task(db, "delivery_upload", run_id))
    assert outcome == expected(key), describe(outcome) + output[-3000:]
    if with_ids:
        [uploading] = db.xcom("delivery_upload", run_id, "upload")
        assert uploading["uploading_id"] != first_uploading["uploading_id"]


def test_mapped_tasks_on_one_counter_each_deliver_their_own_orders(
    metrika: EmulatorClient, env: dict[str, str], tmp_path: Path
) -> None:
    _orders_file(tmp_path / "orders-0.csv", ["m-1", "m-2"])
    _orders_file(tmp_path / "orders-1.csv", ["m-3", "m-4"])
    metrika.inject_faults({"target": "upload", "status": 504})

    db, run_id, output = _run(env, "delivery_mapped", {"orders_dir": str(tmp_path)})

    states = db.task_states("delivery_mapped", run_id)
    tries = max(db.task_tries("delivery_mapped", run_id, "upload", map_index=i) for i in (0, 1))
    task = task_outcome("success" if set(states.values()) == {"success"} else str(states), tries)
    outcome = Outcome(orders_outcome(metrika, COUNTER, {"m-1", "m-2", "m-3", "m-4"}), _posts(metrika), task)
    assert outcome == expected("mapped_tasks_on_one_counter"), describe(outcome) + output[-3000:]
    for map_index in (0, 1):
        [uploading] = db.xcom("delivery_mapped", run_id, "upload", map_index=map_index)
        listed = {u["uploading_id"]: u for u in metrika.uploadings(COUNTER)}
        assert uploading["uploading_id"] in listed
        assert listed[uploading["uploading_id"]]["uploading_title"].startswith("orders-00001-")


def test_the_delivery_pages_scenario_table_is_the_suites_scenarios() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "delivery.md").read_text()

    assert render_table() in page, "refresh it with: python -m tests.delivery.scenarios"
