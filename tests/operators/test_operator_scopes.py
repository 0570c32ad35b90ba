"""SimpleOrdersUploadOperator with tokens of every scope, and the zones it writes dates in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import REPO, MetadataDb, run_airflow
from tests.conftest import (
    COUNTER,
    REVOKED_TOKEN,
    SCOPED_TOKENS,
    TOKEN,
    scope_connection_name,
    scoped_connections_env,
)

TEST_DAGS = REPO / "tests" / "dags"
DAG_ID = "test_metrika_scopes"
SUCCESS, FAILED = "success", "failed"
#: name -> state of the task with timezone= given, then of the one reading the counter's zone,
#: when last_uploadings takes any Metrika scope, and when it needs metrika:read.
EXPECTED = {
    "uploadonly": ((SUCCESS, FAILED), (FAILED, FAILED)),
    "writeonly": ((SUCCESS, FAILED), (FAILED, FAILED)),
    "readonly": ((FAILED, FAILED), (FAILED, FAILED)),
    "uploadread": ((SUCCESS, SUCCESS), (SUCCESS, SUCCESS)),
    "writeread": ((SUCCESS, SUCCESS), (SUCCESS, SUCCESS)),
    "noscope": ((FAILED, FAILED), (FAILED, FAILED)),
    "revoked": ((FAILED, FAILED), (FAILED, FAILED)),
}


def _orders(path: Path) -> Path:
    path.write_text("id,create_date_time,emails\ns-1,2024-01-09 10:00:00,a@example.com\n")
    return path


def _requests_by(metrika: EmulatorClient, token: str) -> list[tuple[str, str, int]]:
    return [
        (r["method"], r["path"].rsplit("/", 1)[-1], r["status"])
        for r in metrika.requests()
        if r["headers"].get("authorization") == f"OAuth {token}"
    ]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("needs_read", [False, True], ids=["list-any-scope", "list-needs-read"])
def test_each_token_kind_uploads_or_fails_naming_the_scope_and_the_argument(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path, needs_read: bool
) -> None:
    metrika.configure(last_uploadings_needs_read=needs_read)
    env = {
        **dag_env,
        **scoped_connections_env(metrika.base_url),
        "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
    }

    result = run_airflow(
        ["dags", "test", DAG_ID, "--conf", json.dumps({"orders_uri": str(_orders(tmp_path / "o.csv"))})], env
    )

    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    states = db.task_states(DAG_ID, db.latest_run_id(DAG_ID))
    output = result.output
    for name, outcomes in EXPECTED.items():
        given, read = outcomes[1] if needs_read else outcomes[0]
        assert (states[f"{name}_timezone_given"], states[f"{name}_timezone_read"]) == (given, read), name
    requests = {scope_connection_name(t): _requests_by(metrika, t) for t in [*SCOPED_TOKENS, REVOKED_TOKEN]}
    # Upload-only: the counter read is refused before any order is sent; with timezone= it is never made.
    assert ("POST", "simple_orders", 200) in requests["uploadonly"]
    assert [r for r in requests["uploadonly"] if r[1] == str(COUNTER)] == [("GET", str(COUNTER), 403)]
    assert sum(1 for r in requests["uploadonly"] if r[0] == "POST") == 1
    assert (
        "Connection 'metrika_scope_uploadonly': Metrika refused the request to read the counter's" in output
    )
    assert "the token lacks metrika:read" in output
    assert "pass timezone= (the counter's time zone" in output
    # Read-only: the upload is refused once (never retried), naming the upload scopes.
    assert [r for r in requests["readonly"] if r[0] == "POST"] == [("POST", "simple_orders", 403)] * 2
    assert "Connection 'metrika_scope_readonly': Metrika refused the request to upload orders" in output
    assert "the token lacks metrika:offline_data or metrika:write" in output
    assert "Connection 'metrika_scope_revoked': Metrika rejected the OAuth token (401)" in output
    if needs_read:
        assert "may lack metrika:read" in output, "the wait on last_uploadings names the likely scope"
    for token in [*SCOPED_TOKENS, REVOKED_TOKEN, TOKEN]:
        assert token not in output


@pytest.mark.timeout(300)
def test_naive_warehouse_utc_is_written_in_the_counters_zone_and_future_rows_are_rejected(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "warehouse.csv"
    orders.write_text(
        "id,create_date_time,emails\n"
        "w-1,2024-01-09 10:00:00,a@example.com\n"  # naive UTC -> 13:00 in Moscow
        "w-2,2024-01-09T10:00:00+05:00,b@example.com\n"  # aware: its own offset -> 08:00 in Moscow
        "w-3,2024-01-09,c@example.com\n"  # a calendar day: unchanged
        "w-4,31.12.99 10:00,d@example.com\n"  # 2099: in the future, rejected
    )
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    conf = {"orders_uri": str(orders), "source_timezone": "UTC"}

    result = run_airflow(["dags", "test", "test_metrika_source_timezone", "--conf", json.dumps(conf)], env)

    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id("test_metrika_source_timezone")
    assert db.task_states("test_metrika_source_timezone", run_id) == {"upload_utc_warehouse": "success"}, (
        result.output[-4000:]
    )
    stored = metrika.orders(COUNTER)["orders"]
    assert {k: v["create_date_time"] for k, v in stored.items()} == {
        "w-1": "2024-01-09 13:00:00",
        "w-2": "2024-01-09 08:00:00",
        "w-3": "2024-01-09",
    }
    assert len(metrika.api_requests(path_contains=f"/management/v1/counter/{COUNTER}")) == 1, "read once"
    assert "dates written in Europe/Moscow, the counter's time zone as read from Metrika" in result.output
    assert "naive input read in UTC" in result.output
    assert (
        'row 4, column create_date_time: "31.12.99 10:00" is more than one day in the future' in result.output
    )
    report = db.xcom("test_metrika_source_timezone", run_id, "upload_utc_warehouse", key="orders_report")
    assert (report["timezone"], report["source_timezone"], report["rows_rejected"]) == (
        "Europe/Moscow",
        "UTC",
        1,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Moscow"}, "timezone 'Moscow' is not a known IANA time zone"),
        ({"source_timezone": "Mars/Olympus"}, "source_timezone 'Mars/Olympus' is not a known IANA time zone"),
        ({"source_timezone": ""}, "source_timezone must be an IANA time zone name"),
    ],
)
def test_bad_zones_fail_at_dag_parse_time(kwargs: dict[str, Any], message: str) -> None:
    from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
    from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

    with pytest.raises(MetrikaInvalidArgumentError, match=message):
        SimpleOrdersUploadOperator(task_id="t", path="/a.csv", **kwargs)


def test_templated_zones_are_checked_once_rendered() -> None:
    from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator

    task = SimpleOrdersUploadOperator(
        task_id="t", path="/a.csv", timezone="{{ params.tz }}", source_timezone="{{ params.src }}"
    )

    assert "source_timezone" in task.template_fields
