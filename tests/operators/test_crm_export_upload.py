"""A Russian CRM export uploaded under `airflow dags test`: the goals check, warnings, readable logs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.operators.simple_orders import SimpleOrdersUploadOperator
from tests.airflow_cli import REPO, MetadataDb, run_airflow
from tests.conftest import COUNTER

TEST_DAGS = REPO / "tests" / "dags"
CRM_EXPORT = REPO / "tests" / "data" / "crm_export_ru.csv"


def _run(dag_env: dict[str, str], dag_id: str) -> tuple[MetadataDb, str, str]:
    env = {**dag_env, "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    result = run_airflow(["dags", "test", dag_id, "-c", json.dumps({"orders_uri": str(CRM_EXPORT)})], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    return db, db.latest_run_id(dag_id), result.output


def _line_after(lines: list[str], text: str) -> str:
    index = max(number for number, line in enumerate(lines) if line.startswith(text))
    return lines[index + 1]


def test_statuses_that_are_no_goal_of_the_counter_fail_the_task_before_any_upload(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    db, run_id, output = _run(dag_env, "test_metrika_crm_export")

    assert db.run_state("test_metrika_crm_export", run_id) == "failed", output
    assert "MetrikaUnknownGoalStatusError" in output
    assert "'shipped' (1 row), 'new' (1 row)" in output
    assert 'unknown_statuses="allow"' in output
    assert metrika.api_requests(path_contains="simple_orders") == []
    assert len(metrika.api_requests(path_contains="/goals")) == 1


def test_allow_uploads_and_the_log_and_report_carry_every_warning_with_pii_masked(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    db, run_id, output = _run(dag_env, "test_metrika_crm_export_allow")

    assert db.run_state("test_metrika_crm_export_allow", run_id) == "success", output
    assert len(metrika.orders(COUNTER)["orders"]) == 7
    report = db.xcom("test_metrika_crm_export_allow", run_id, "upload", "orders_report")
    warnings = {warning["kind"]: warning for warning in report["warnings"]}
    assert list(warnings) == ["domestic_phones", "goal_statuses", "old_orders"]
    assert (warnings["domestic_phones"]["count"], warnings["domestic_phones"]["fix"]) == (
        4,
        "rewrite_leading_8=True",
    )
    assert warnings["goal_statuses"]["examples"] == ["'shipped' x 1", "'new' x 1"]
    assert warnings["old_orders"]["count"] == 7  # the export is from 2024
    assert "[warning  ] 4 rows: phones look like Russian domestic numbers" in output
    for raw in ("9161234567", "916 123 45 67", "Ivan.Ivanov", "ivan.ivanov"):
        assert raw not in output


def test_multi_line_report_and_summary_start_on_their_own_line_and_end_before_the_logger_suffix(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    _, _, output = _run(dag_env, "test_metrika_crm_export_allow")
    lines = output.splitlines()

    assert "Simplified orders:" in lines
    assert _line_after(lines, "  revenue ").startswith("  dates ")
    assert _line_after(lines, "  dates ").startswith("  dropped columns")
    assert _line_after(lines, "  7 rows: orders were created").startswith(" [airflow.task.operators.")
    assert "Metrika upload summary (counter 12345)" in [line.split("] ", 1)[-1] for line in lines]
    assert _line_after(lines, "  1              7").startswith(" [airflow.task.operators.")


def test_without_read_access_to_goals_the_task_warns_and_uploads(
    dag_env: dict[str, str], metrika: EmulatorClient
) -> None:
    metrika.inject_faults({"target": "goals", "status": 403, "error_type": "access_denied"})

    db, run_id, output = _run(dag_env, "test_metrika_crm_export")

    assert db.run_state("test_metrika_crm_export", run_id) == "success", output
    assert "sent as JavaScript goal identifiers, unchecked" in output
    assert len(metrika.orders(COUNTER)["orders"]) == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decimal": ";"}, "decimal must be '.', ',' or None; got ';'"),
        ({"unknown_statuses": "ignore"}, "unknown_statuses must be one of error, allow; got 'ignore'"),
        ({"unknown_goals": "warn"}, "unknown_goals must be one of error, allow; got 'warn'"),
    ],
)
def test_bad_decimal_unknown_statuses_or_unknown_goals_fail_at_dag_parse_time(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=re.escape(message)):
        SimpleOrdersUploadOperator(task_id="upload", path="/a.csv", **kwargs)  # type: ignore[arg-type]
