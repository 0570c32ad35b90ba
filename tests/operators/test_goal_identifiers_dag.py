"""Goal identifiers under `airflow dags test`: every condition form sent, unknown ones named."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import REPO, MetadataDb, run_airflow
from tests.conftest import COUNTER
from tests.operators.test_goal_check import CONDITION_GOALS

DAG_ID = "test_metrika_goal_identifiers"
DAY = (date.today() - timedelta(days=1)).isoformat()


def _run(dag_env: dict[str, str], orders: Path) -> tuple[str, Any, str]:
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "tests" / "dags" / "goal_dags.py")}
    result = run_airflow(["dags", "test", DAG_ID, "-c", json.dumps({"orders_uri": str(orders)})], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(DAG_ID)
    return db.run_state(DAG_ID, run_id), db.xcom(DAG_ID, run_id, "upload", "orders_report"), result.output


def _orders(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "orders.csv"
    lines = ["id,create_date_time,emails,order_status,goals"]
    lines += [
        f'{order},{DAY} 10:00,client{n}@example.com,{status},"{goals}"'
        for n, (order, status, goals) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_statuses_naming_every_condition_form_are_sent_and_an_unknown_goals_cell_is_warned(
    dag_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    metrika.configure(goals={COUNTER: CONDITION_GOALS})
    orders = _orders(
        tmp_path,
        [
            ("o1", "legacy_paid", "order"),
            ("o2", "order", ""),
            ("o3", "new_lead", "missing_goal:150"),
            ("o4", "call_in", "missing_goal,legacy_paid"),
            ("o5", "visit_7", ""),
        ],
    )

    state, report, output = _run(dag_env, orders)

    assert state == "success", output
    stored = metrika.orders(COUNTER)["orders"]
    assert sorted(order["order_status"] for order in stored.values()) == sorted(
        ["legacy_paid", "order", "new_lead", "call_in", "visit_7"]
    )
    assert report is not None
    assert report["goal_counts"] == {"missing_goal": 2, "order": 1, "legacy_paid": 1}
    check = report["goal_check"]
    assert check["unknown_goals"] == {"missing_goal": 2}
    assert check["unknown_statuses"] == {}
    assert set(check["uncertain"]) == {"new_lead", "call_in", "visit_7"}
    assert "goals column: identifiers 'missing_goal' (2 orders) reach no JavaScript goal" in output
    assert "order_status 'new_lead' reaches only by a condition that is not an exact identifier" in output


def test_a_status_no_goal_matches_is_refused_before_any_upload_naming_it_and_the_goals(
    dag_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path
) -> None:
    metrika.configure(goals={COUNTER: CONDITION_GOALS})
    orders = _orders(tmp_path, [("o1", "order", ""), ("o2", "shipped", "")])

    state, report, output = _run(dag_env, orders)

    assert state == "failed", output
    assert report is not None
    assert report["goal_check"]["unknown_statuses"] == {"shipped": 1}
    assert "MetrikaUnknownGoalStatusError" in output
    assert "order_status values 'shipped' (1 row)" in output
    assert "'Order (exact)' (id 12): exact 'order'" in output
    assert "'Any lead' (id 13): contain 'lead'" in output
    assert metrika.api_requests(path_contains="simple_orders") == []
