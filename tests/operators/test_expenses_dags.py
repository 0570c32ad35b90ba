"""Expenses under `airflow dags test`: the example's daily replace, twice, and a retry after a lost answer."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.airflow_cli import REPO, MetadataDb, airflow_env, run_airflow
from tests.conftest import COUNTER, documented_connection

DAG_ID = "example_metrika_expenses"
#: A manual run's data interval is the last whole day: yesterday, in UTC.
DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _warehouse(path: Path, rows: list[tuple[str, str, str, str, float, int]]) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE IF EXISTS ad_spend")
        conn.execute(
            "CREATE TABLE ad_spend"
            " (day TEXT, source TEXT, medium TEXT, campaign TEXT, spend NUMERIC, clicks INT)"
        )
        conn.executemany("INSERT INTO ad_spend VALUES (?, ?, ?, ?, ?, ?)", rows)
    return path


def _held(metrika: EmulatorClient, provider: str) -> dict[tuple[str, str], float]:
    rows = [row for row in metrika.stored_expenses(COUNTER) if row["provider"] == provider]
    assert len(rows) == len({(r["Date"], r.get("UTMCampaign", "")) for r in rows}), "a row held twice"
    return {(row["Date"], row.get("UTMCampaign", "")): float(row["Expenses"]) for row in rows}


@pytest.fixture
def env(airflow_home: Path, metrika: EmulatorClient, tmp_path: Path) -> dict[str, str]:
    return airflow_env(
        airflow_home,
        AIRFLOW_CONN_METRIKA_DEFAULT=documented_connection(metrika.base_url),
        AIRFLOW_CONN_ORDERS_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "dwh.db")}),
        METRIKA_POLL_SECONDS="0.2",
    )


def _run(env: dict[str, str]) -> tuple[str, str, int]:
    result = run_airflow(["dags", "test", DAG_ID], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(DAG_ID)
    return db.run_state(DAG_ID, run_id), result.output, db.task_tries(DAG_ID, run_id, "replace_expenses")


def _other_team(monkeypatch: pytest.MonkeyPatch, metrika: EmulatorClient, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_DEFAULT", documented_connection(metrika.base_url))
    hook = MetrikaHook("metrika_default")
    path = tmp_path / "other.csv"
    path.write_text(f"Date,UTMSource,Expenses\n{DAY},google,500\n")
    uploading = hook.post_expenses(COUNTER, str(path), provider="google_ads_team", comment="otherteam")
    while hook.get_expenses_uploading(COUNTER, uploading["id"])["status"] != "PROCESSED":
        pass


def test_two_runs_over_the_same_day_leave_exactly_the_second_runs_rows(
    env: dict[str, str], metrika: EmulatorClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _other_team(monkeypatch, metrika, tmp_path)
    _warehouse(
        tmp_path / "dwh.db",
        [(DAY, "vk", "cpc", "brand", 100.0, 10), (DAY, "vk", "cpc", "retarget", 50.5, 4)],
    )
    state, output, _ = _run(env)
    assert state == "success", output
    assert _held(metrika, "vk_ads_dwh") == {(DAY, "brand"): 100.0, (DAY, "retarget"): 50.5}

    _warehouse(tmp_path / "dwh.db", [(DAY, "vk", "cpc", "brand", 120.0, 12)])
    state, output, _ = _run(env)

    assert state == "success", output
    assert _held(metrika, "vk_ads_dwh") == {(DAY, "brand"): 120.0}
    assert _held(metrika, "google_ads_team") == {(DAY, ""): 500.0}, "another provider's rows survive"
    assert "Expenses per day, sent and as Metrika's reports total them" in output


@pytest.mark.parametrize(("target", "posts"), [("expenses_delete", 3), ("expenses_upload", 4)])
def test_a_retry_after_an_answer_lost_leaves_the_same_result(
    dag_env: dict[str, str], metrika: EmulatorClient, tmp_path: Path, target: str, posts: int
) -> None:
    source = tmp_path / "spend.csv"
    source.write_text(f"Date,UTMSource,UTMCampaign,Expenses\n{DAY},vk,brand,100\n")
    # The answer is lost after Metrika stored the request, and the look for it fails too: the first
    # try ends with the send unresolved, as a killed worker leaves it.
    metrika.inject_faults(
        {"target": target, "status": 503, "after_processing": True, "times": 1},
        {"target": "expenses_uploadings", "status": 500, "times": 6},
    )
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "tests" / "dags" / "expenses_dags.py")}
    result = run_airflow(["dags", "test", "test_expenses_retry", "-c", json.dumps({"uri": str(source)})], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id("test_expenses_retry")

    assert db.run_state("test_expenses_retry", run_id) == "success", result.output
    assert db.task_tries("test_expenses_retry", run_id, "replace_expenses") == 2, (
        "the retry found it by its comment"
    )
    assert _held(metrika, "vk_ads_dwh") == {(DAY, "brand"): 100.0}
    # The retry settled the first try's requests (found by comment, processed), then replaced again.
    assert len(metrika.api_requests(path_contains="/expense/", method="POST")) == posts
