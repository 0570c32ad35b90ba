"""Running the ``changed_only`` test DAGs: an orders file of their columns, and one ``dags test`` run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.airflow_cli import REPO, MetadataDb, run_airflow

TEST_DAGS = REPO / "tests" / "dags"
HEADER = "id,create_date_time,emails,order_status,revenue\n"


def orders_file(tmp_path: Path, name: str, rows: list[str]) -> str:
    """Write ``rows`` under :data:`HEADER` to ``tmp_path / name`` and return its path.

    :param tmp_path: the test's folder.
    :param name: the file name.
    :param rows: CSV lines without line ends.
    """
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return str(path)


def run_sync(
    env: dict[str, str], dag_id: str, orders: str, state_dir: Path, **params: Any
) -> tuple[str, dict[str, Any] | None, str]:
    """Run a sync DAG once; return its state, the ``sync_state`` XCom of a green run, and the output.

    :param env: the Airflow environment, with :data:`TEST_DAGS` as the DAG folder.
    :param dag_id: the DAG.
    :param orders: the orders file.
    :param state_dir: the sync state location.
    :param params: more run conf.
    """
    conf = {"orders_uri": orders, "sync_state": str(state_dir), **params}
    result = run_airflow(["dags", "test", dag_id, "-c", json.dumps(conf)], env)
    db = MetadataDb(Path(env["AIRFLOW_HOME"]))
    run_id = db.latest_run_id(dag_id)
    state = db.run_state(dag_id, run_id)
    counts = db.xcom(dag_id, run_id, "sync", "sync_state") if state == "success" else None
    return state, counts, result.output
