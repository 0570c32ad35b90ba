"""MetrikaUploadingSensor with tokens of every scope: waits, or fails naming the scope that fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import MetadataDb, run_airflow
from tests.conftest import REVOKED_TOKEN, SCOPED_TOKENS, scoped_connections_env

DAGS = Path(__file__).resolve().parent / "dags"
DAG_ID = "metrika_wait_scoped"
#: name -> succeeds when last_uploadings takes any Metrika scope, and when it needs metrika:read.
EXPECTED = {
    "uploadonly": (True, False),
    "writeonly": (True, False),
    "readonly": (True, True),
    "uploadread": (True, True),
    "writeread": (True, True),
    "noscope": (False, False),
    "revoked": (False, False),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("needs_read", [False, True], ids=["list-any-scope", "list-needs-read"])
def test_each_token_kind_waits_or_fails_naming_the_connection_and_scope(
    metrika: EmulatorClient, airflow_home: Path, dag_env: dict[str, str], needs_read: bool
) -> None:
    metrika.configure(last_uploadings_needs_read=needs_read)
    env = {**dag_env, **scoped_connections_env(metrika.base_url), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}

    result = run_airflow(["dags", "test", DAG_ID], env, timeout=240)

    db = MetadataDb(airflow_home)
    states = db.task_states(DAG_ID, db.latest_run_id(DAG_ID))
    assert states["upload_orders"] == "success", result.output[-4000:]
    for name, outcomes in EXPECTED.items():
        expected = "success" if outcomes[needs_read] else "failed"
        assert states[f"wait_{name}"] == expected, (name, result.output[-4000:])
    output = result.output
    assert (
        "Connection 'metrika_scope_noscope': Metrika refused the request to list the counter's uploadings"
        in output
    )
    assert "may lack metrika:read" in output
    assert "Metrika does not document which scope" in output
    assert "Connection 'metrika_scope_revoked': Metrika rejected the OAuth token (401)" in output
    if needs_read:
        assert "Connection 'metrika_scope_uploadonly': Metrika refused" in output
    listed = metrika.api_requests(path_contains="last_uploadings")
    # One refused poke each: noscope, and uploadonly and writeonly when the list needs metrika:read.
    refused = sum(1 for r in listed if r["status"] == 403)
    assert refused == (3 if needs_read else 1), "a 403 is never retried"
    for token in [*SCOPED_TOKENS, REVOKED_TOKEN]:
        assert token not in output
