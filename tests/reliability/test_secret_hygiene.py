"""
Secret and PII hygiene: after every example DAG ran end to end with a recognisable token and real
looking emails and phones, the token is nowhere Airflow keeps things, and raw PII is in no log.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.airflow_cli import EXAMPLE_DAGS
from tests.conftest import TOKEN, WAREHOUSE_ROWS, ExampleRun


def _pii_of_csv(path: Path, columns: tuple[str, ...]) -> set[str]:
    values: set[str] = set()
    for row in csv.DictReader(io.StringIO(path.read_text())):
        for column in columns:
            values.update(v.strip() for v in (row.get(column) or "").split(",") if v.strip())
    return values


def _raw_pii() -> set[str]:
    """Every email and phone the example DAGs send, as written in their inputs and as normalised."""
    data = EXAMPLE_DAGS / "data"
    values = {
        "Anna.Petrova@Example.com",
        "anna.petrova@example.com",
        "ivan@example.org",
        "+7 (999) 555-11-11",
        "79995551111",
        "+7 912 000-22-33",
        "79120002233",
    }
    values |= _pii_of_csv(data / "crm_orders.csv", ("email", "phone"))
    values |= _pii_of_csv(data / "sample_orders.csv", ("emails", "phones"))
    for agency in (data / "agency").glob("*.csv"):
        values |= _pii_of_csv(agency, ("emails", "phones"))
    values |= {v for row in WAREHOUSE_ROWS for v in (row[3], row[4]) if v}
    values |= {v.lower() for v in values if "@" in v}
    return values


def test_every_example_dag_ran(example_runs: dict[str, ExampleRun]) -> None:
    assert {run.state for run in example_runs.values()} == {"success"}, {
        dag_id: run.output[-2000:] for dag_id, run in example_runs.items() if run.state != "success"
    }


def test_token_is_in_no_log_xcom_rendered_field_or_trigger_row(example_runs: dict[str, ExampleRun]) -> None:
    db = next(iter(example_runs.values())).db
    stored = db.all_xcom_values() + db.rendered_fields() + db.trigger_kwargs()

    assert db.trigger_kwargs(), "the deferrable example stored a trigger row to check"
    assert db.rendered_fields(), "rendered fields were stored to check"
    for dag_id, run in example_runs.items():
        assert TOKEN not in run.output, f"token in the logs of {dag_id}"
    assert not [value for value in stored if TOKEN in value]


def test_raw_emails_and_phones_are_in_no_task_log(example_runs: dict[str, ExampleRun]) -> None:
    pii = _raw_pii()
    assert len(pii) > 30, "the check covers every identifier the examples send"

    for dag_id, run in example_runs.items():
        leaked = sorted(value for value in pii if value in run.output)
        assert not leaked, f"raw PII in the task logs of {dag_id}: {leaked}"


def test_pii_is_in_no_rendered_field(example_runs: dict[str, ExampleRun]) -> None:
    db = next(iter(example_runs.values())).db
    rendered = "\n".join(db.rendered_fields())

    assert not sorted(value for value in _raw_pii() if value in rendered)
