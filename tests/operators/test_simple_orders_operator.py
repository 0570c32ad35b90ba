"""SimpleOrdersUploadOperator: argument checks, and every input kind end to end under `airflow dags test`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.airflow_cli import REPO, MetadataDb, run_airflow
from tests.conftest import (
    COUNTER,
    OTHER_COUNTER,
    TOKEN,
    ExampleRun,
    documented_connection,
    listed_after_a_poll,
)

TEST_DAGS = REPO / "tests" / "dags"


def _orders_csv(path: Path, rows: int) -> Path:
    lines = ["id,create_date_time,emails,revenue"]
    lines += [f"ord-{n:04d},2024-01-09 10:{n % 60:02d}:00,buyer{n}@example.com,{n}.50" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _dags_test(env: dict[str, str], dag_id: str, *args: str) -> tuple[MetadataDb, str, str]:
    result = run_airflow(["dags", "test", dag_id, *args], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    return db, db.latest_run_id(dag_id), result.output


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one input among dataframe=, path= and sql=; got none"),
        ({"path": "/a.csv", "sql": "SELECT 1", "sql_conn_id": "db"}, "got path, sql"),
        ({"sql": "SELECT 1"}, "sql= needs sql_conn_id="),
        ({"path": "/a.csv", "sql_conn_id": "db"}, "sql_conn_id= is given without sql="),
        ({"path": "/a.csv", "counter_id": "abc"}, "counter_id must be a positive integer"),
        ({"path": "/a.csv", "counter_id": -1}, "counter_id must be a positive integer"),
        ({"path": "/a.csv", "merge_mode": "REPLACE"}, "merge_mode must be one of SAVE, UPDATE, APPEND"),
        ({"path": "/a.csv", "delimiter_type": "TAB"}, "delimiter_type must be one of COMMA, SEMICOLON"),
        ({"path": "/a.csv", "on_invalid": "ignore"}, "on_invalid must be one of fail, skip"),
        ({"path": "/a.csv", "duplicates": "first"}, "duplicates must be one of error, keep_last"),
        ({"path": "/a.csv", "unknown_columns": "keep"}, "unknown_columns must be one of error, drop"),
        ({"path": "/a.csv", "max_invalid_fraction": 1.5}, "max_invalid_fraction must be a number at least 0"),
        ({"path": "/a.csv", "timeout": -5}, "timeout must be a number of seconds greater than 0"),
        ({"path": "/a.csv", "poll_interval": 0}, "poll_interval must be a number of seconds greater than 0"),
        ({"path": "/a.csv", "max_part_bytes": 2_000_000_000}, "max_part_bytes must be an integer"),
        ({"path": "/a.csv", "columns": ["id"]}, "columns must be a mapping"),
        ({"path": "/a.csv", "status_map": "PAID"}, "status_map must be a mapping"),
    ],
)
def test_bad_arguments_fail_at_dag_parse_time_with_a_clear_message(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SimpleOrdersUploadOperator(task_id="upload", **kwargs)  # type: ignore[arg-type]


def test_templated_arguments_are_not_checked_before_rendering() -> None:
    operator = SimpleOrdersUploadOperator(
        task_id="upload",
        path="{{ params.p }}",
        counter_id="{{ var.value.counter }}",
        merge_mode="{{ params.m }}",
    )

    assert {"counter_id", "path", "sql", "merge_mode", "columns"} <= set(operator.template_fields)
    assert "dataframe" not in operator.template_fields, "a rendered frame would store PII as rendered fields"


def test_a_dataframe_literal_is_accepted() -> None:
    operator = SimpleOrdersUploadOperator(task_id="upload", dataframe=pd.DataFrame({"id": ["1"]}))

    assert isinstance(operator.dataframe, pd.DataFrame)


# -- end to end -----------------------------------------------------------------------------------


def _uploads(run: ExampleRun) -> list[dict[str, Any]]:
    return [r for r in run.requests if r["path"].endswith("/data/simple_orders")]


def test_dataframe_from_an_upstream_task_is_uploaded(example_runs: dict[str, ExampleRun]) -> None:
    run = example_runs["example_metrika_dataframe"]

    assert run.state == "success", run.output[-3000:]
    stored = run.orders[COUNTER]["orders"]
    assert set(stored) == {"web-1001", "web-1002", "web-1003"}
    assert stored["web-1001"]["emails"] == "anna.petrova@example.com"
    assert stored["web-1001"]["phones"] == "79995551111"
    assert stored["web-1001"]["create_date_time"] == "2024-01-09 11:15:00", "UTC converted to Europe/Moscow"
    uploadings = run.xcom("upload_orders")
    assert [u["api_validation_status"] for u in uploadings] == ["PASSED"]
    assert run.xcom("upload_orders", key="uploading_ids") == [uploadings[0]["uploading_id"]]
    report = run.xcom("upload_orders", key="orders_report")
    assert report["rows_read"] == report["rows_written"] == 3
    assert "Metrika upload summary (counter 12345)" in run.output
    assert run.xcom("upload_orders", key="metrika_counter_id") == COUNTER, "for the linkage check"
    link = run.xcom("upload_orders", key="_link_MetrikaCounterLink")
    assert link == f"https://metrika.yandex.ru/dashboard?id={COUNTER}", "the counter link the UI shows"
    assert run.db.asset_events("metrika://counter/12345/orders") >= 1, "outlets=[Asset(...)] emitted an event"


def test_object_storage_file_is_uploaded_with_hashed_identifiers(example_runs: dict[str, ExampleRun]) -> None:
    run = example_runs["example_metrika_object_storage"]

    assert run.state == "success", run.output[-3000:]
    stored = run.orders[COUNTER]["orders"]
    assert len(stored) == 10
    first = stored["A-1001"]
    assert first["emails"] == first["phones"] == ""
    assert first["emails_md5"] == hashlib.md5(b"anna.petrova@example.com").hexdigest()
    assert first["phones_md5"] == hashlib.md5(b"79995551111").hexdigest()
    assert stored["A-1002"]["phones_md5"] == hashlib.md5(b"79120002233").hexdigest(), "leading 8 rewritten"
    assert stored["A-1002"]["order_status"] == "IN_PROGRESS", "status_map applied"
    assert stored["A-1003"]["order_status"] == "PAID"
    assert re.fullmatch(
        r"orders-00001-[0-9a-f]{10}-[0-9a-f]{10}\.csv", _uploads(run)[0]["multipart"][0]["filename"]
    )
    assert "anna.petrova" not in json.dumps(run.orders), "no raw email left the worker"


def test_sql_query_uses_the_runs_data_interval(example_runs: dict[str, ExampleRun]) -> None:
    run = example_runs["example_metrika_sql"]

    assert run.state == "success", run.output[-3000:]
    stored = run.orders[COUNTER]["orders"]
    assert set(stored) == {"o-in-1", "o-in-2"}
    assert stored["o-in-1"]["emails"] == "olga.smirnova@example.com"
    assert stored["o-in-2"]["order_status"] == "CANCELLED"
    assert "Reading orders from orders_warehouse with a query" in run.output


def test_each_mapped_counter_gets_its_own_orders(example_runs: dict[str, ExampleRun]) -> None:
    run = example_runs["example_metrika_many_counters"]

    assert run.state == "success", run.output[-3000:]
    assert run.task_states() == {"upload_orders[0]": "success", "upload_orders[1]": "success"}
    assert set(run.orders[COUNTER]["orders"]) == {"north-1", "north-2"}
    assert set(run.orders[OTHER_COUNTER]["orders"]) == {"south-1"}


def test_a_retry_does_not_upload_again_the_parts_accepted_before_the_failure(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", rows=100)
    # The second upload (part 2 of 3) is refused once: the first try fails after part 1.
    metrika.inject_faults({"target": "upload", "status": 400, "error_type": "invalid_uploading", "skip": 1})
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}

    db, run_id, output = _dags_test(
        env, "test_metrika_upload_retry", "--conf", json.dumps({"orders_uri": f"file://{orders}"})
    )

    assert db.run_state("test_metrika_upload_retry", run_id) == "success", output[-4000:]
    assert db.task_tries("test_metrika_upload_retry", run_id, "upload_in_parts") == 2
    uploads = metrika.api_requests(path_contains="simple_orders")
    shas = [u["multipart"][0]["sha256"] for u in uploads]
    statuses = [u["status"] for u in uploads]
    assert statuses == [200, 400, 200, 200], "part 1, part 2 refused, then parts 2 and 3 only"
    assert shas[1] == shas[2], "the retry resumed at part 2"
    assert shas[0] not in shas[1:], "part 1 was not sent again"
    stored = metrika.orders(COUNTER)
    assert len(stored["orders"]) == 100
    assert set(stored["applied_counts"].values()) == {1}
    assert "accepted in an earlier try" in output
    uploadings = db.xcom("test_metrika_upload_retry", run_id, "upload_in_parts")
    assert len(uploadings) == 3
    assert uploadings[0]["uploading_id"] == metrika.uploadings(COUNTER)[-1]["uploading_id"]


def test_templated_counter_merge_mode_and_timezone_are_rendered(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("id,create_date_time,emails\nt-1,2024-01-09T10:00:00Z,a@example.com\n")
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}

    db, run_id, output = _dags_test(
        env, "test_metrika_upload_once", "--conf", json.dumps({"orders_uri": str(orders)})
    )

    assert db.run_state("test_metrika_upload_once", run_id) == "success", output[-3000:]
    [request] = metrika.api_requests(path_contains="simple_orders")
    assert request["path"] == f"/cdp/api/v1/counter/{COUNTER}/data/simple_orders"
    assert request["query"]["merge_mode"] == "UPDATE"
    assert metrika.orders(COUNTER)["orders"]["t-1"]["create_date_time"] == "2024-01-09 15:00:00"


def test_an_input_without_rows_skips_the_task_and_uploads_nothing(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "empty.csv"
    orders.write_text("id,create_date_time,emails\n")
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}

    db, run_id, output = _dags_test(
        env, "test_metrika_upload_once", "--conf", json.dumps({"orders_uri": str(orders)})
    )

    assert db.task_states("test_metrika_upload_once", run_id) == {"upload": "skipped"}, output[-3000:]
    assert "No orders to upload: 0 rows read" in output
    assert metrika.api_requests(path_contains="simple_orders") == []


def test_invalid_orders_fail_the_task_naming_rows_with_pii_masked_before_any_upload(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "bad.csv"
    orders.write_text(
        "id,create_date_time,emails\n"
        "b-1,2024-01-09 10:00:00,good@example.com\n"
        "b-2,1965-01-01,secretperson@nodomain\n"
    )
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}

    db, run_id, output = _dags_test(
        env, "test_metrika_upload_once", "--conf", json.dumps({"orders_uri": str(orders)})
    )

    assert db.task_states("test_metrika_upload_once", run_id) == {"upload": "failed"}
    assert "row 2" in output
    assert "secretperson@nodomain" not in output
    assert metrika.api_requests(path_contains="simple_orders") == []


def test_wait_for_validation_polls_or_defers_until_passed(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", rows=5)
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}

    with listed_after_a_poll(metrika):  # each task's first look finds its uploading pending
        db, run_id, output = _dags_test(
            env, "test_metrika_upload_and_wait", "--conf", json.dumps({"orders_uri": str(orders)})
        )

    dag_id = "test_metrika_upload_and_wait"
    assert db.run_state(dag_id, run_id) == "success", output[-4000:]
    for task_id in ("upload_and_wait_polling", "upload_and_wait_deferred"):
        [uploading] = db.xcom(dag_id, run_id, task_id)
        assert uploading["api_validation_status"] == "PASSED"
        assert db.xcom(dag_id, run_id, task_id, key="uploading_ids") == [uploading["uploading_id"]]
    assert "Waiting for Metrika:" in output, "the polling task saw the uploading pending first"
    assert len(metrika.api_requests(path_contains="simple_orders")) == 2
    assert TOKEN not in "".join(db.trigger_kwargs())


def test_a_task_failing_before_its_counter_is_known_logs_no_xcom_error(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", rows=2)
    # The connection docs/emulator.md gives has no default counter, and these tasks name none.
    env = {
        **dag_env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
        "AIRFLOW_CONN_METRIKA_DEFAULT": documented_connection(metrika.base_url),
    }

    db, run_id, output = _dags_test(
        env, "test_metrika_upload_and_wait", "--conf", json.dumps({"orders_uri": str(orders)})
    )

    dag_id = "test_metrika_upload_and_wait"
    assert db.task_states(dag_id, run_id) == {
        "upload_and_wait_polling": "failed",
        "upload_and_wait_deferred": "failed",
    }, output[-4000:]
    assert "counter_id is required: pass it, or set 'Default counter ID' on connection" in output
    # The counter link reads the operator, not an XCom the failed try never pushed.
    assert "XCom not found" not in output, output[-4000:]
    assert metrika.api_requests(path_contains="simple_orders") == []


def test_skip_mode_uploads_valid_rows_and_keeps_the_rejected_ones_with_reasons(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,create_date_time,emails\n"
        "k-1,2024-01-09 10:00:00,one@example.com\n"
        "k-2,1960-01-01,two@example.com\n"
        "k-3,2024-01-09 12:00:00,three@example.com\n"
    )
    rejects = tmp_path / "kept" / "rejects.csv"
    rejects.parent.mkdir()
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    conf = {"orders_uri": f"file://{orders}", "rejects_uri": f"file://{rejects}"}

    db, run_id, output = _dags_test(env, "test_metrika_upload_skip_invalid", "--conf", json.dumps(conf))

    assert db.run_state("test_metrika_upload_skip_invalid", run_id) == "success", output[-3000:]
    assert set(metrika.orders(COUNTER)["orders"]) == {"k-1", "k-3"}
    kept = rejects.read_text()
    assert "k-2" in kept
    assert "before 1970-01-01" in kept
    assert f"1 rejected rows, with their reasons, written to file://{rejects}" in output
    report = db.xcom("test_metrika_upload_skip_invalid", run_id, "upload_valid_rows", key="orders_report")
    assert (report["rows_read"], report["rows_written"], report["rows_rejected"]) == (3, 2, 1)


def test_openlineage_facets_name_the_input_read_and_the_counters_orders(
    metrika: EmulatorClient, metrika_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = SimpleOrdersUploadOperator(
        task_id="u1", counter_id=COUNTER, path="file:///data/crm/orders.csv"
    )
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": "/data/wh.db"}))
    from_sql = SimpleOrdersUploadOperator(task_id="u2", sql="SELECT 1", sql_conn_id="warehouse")

    file_lineage = from_file.get_openlineage_facets_on_complete(None)
    sql_lineage = from_sql.get_openlineage_facets_on_complete(None)

    api = metrika.base_url.removeprefix("http://")
    assert [(d.namespace, d.name) for d in file_lineage.inputs] == [("file", "/data/crm/orders.csv")]
    assert [(d.namespace, d.name) for d in file_lineage.outputs] == [
        (f"metrika://{api}", f"counter/{COUNTER}/simple_orders")
    ]
    assert [(d.namespace, d.name) for d in sql_lineage.inputs] == [("sqlite:///data/wh.db", "warehouse")]
    assert sql_lineage.job_facets["sql"].query == "SELECT 1"
    assert sql_lineage.outputs[0].name == f"counter/{COUNTER}/simple_orders", (
        "the connection's default counter"
    )


def test_mappings_rendered_as_text_by_templates_are_read_back(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,created,email,state\nt-1,2024-01-09 10:00:00,a@example.com,оплачен\n")
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    conf = {
        "orders_uri": str(orders),
        "columns": {
            "order_id": "id",
            "created": "create_date_time",
            "email": "emails",
            "state": "order_status",
        },
        "status_map": {"оплачен": "PAID"},
    }

    db, run_id, output = _dags_test(env, "test_metrika_upload_templated_mappings", "--conf", json.dumps(conf))

    assert db.run_state("test_metrika_upload_templated_mappings", run_id) == "success", output[-3000:]
    assert metrika.orders(COUNTER)["orders"]["t-1"]["order_status"] == "PAID"


def test_too_many_rejected_rows_fail_the_task_and_are_kept_at_rejects_path(
    metrika: EmulatorClient, dag_env: dict[str, str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,create_date_time,emails\n"
        "r-1,2024-01-09 10:00:00,one@example.com\n"
        "r-2,1960-01-01,two@example.com\n"
    )
    rejects = tmp_path / "kept-rejects.csv"
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    conf = {"orders_uri": str(orders), "rejects_uri": f"file://{rejects}"}

    db, run_id, output = _dags_test(env, "test_metrika_upload_too_many_rejects", "--conf", json.dumps(conf))

    assert db.run_state("test_metrika_upload_too_many_rejects", run_id) == "failed"
    assert "more than max_invalid_fraction=0.1 allows" in output
    assert f"Rejected rows with reasons: file://{rejects}" in output, "the kept copy, not a deleted temp file"
    assert "r-2" in rejects.read_text()
    assert metrika.api_requests(path_contains="simple_orders") == []
