"""Check one Airflow installation end to end: run with the python of the virtual environment to check.

    .compat/3.0/venv/bin/python compat/check.py --home .compat/3.0/home --out .compat/3.0/result.json

Only the standard library, the installed Airflow and the installed provider wheel are used (the
repository is not on ``sys.path``, so the wheel is what runs; ``tests/airflow_cli.py`` and
``tests/standalone.py`` are loaded by path). Each check is judged on what can be seen from outside:
what the emulator stored, run and task states, tries, XComs and metadata rows. The checks under
``airflow dags test`` come first, then those of a real deployment (``deployment.py``: scheduler,
DAG processor and triggerer), unless ``--no-deployment``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"
COMPAT_DAGS = REPO / "compat" / "dags"
TOKEN = "tok-COMPAT-4f3e2d1c"
COUNTER = 12345
EXAMPLE_DAG_IDS = {
    "example_metrika_dataframe",
    "example_metrika_object_storage",
    "example_metrika_sql",
    "example_metrika_many_counters",
    "example_metrika_wait_for_validation",
    "example_metrika_changed_only",
}
#: Two warehouse rows inside the SQL example's data interval (2024-01-09), one outside.
WAREHOUSE_ROWS = [
    ("o-before", "2024-01-08 23:59:59", "c0", "z@example.com", None, "PAID", 1, "RUB"),
    (
        "o-in-1",
        "2024-01-09 00:00:00",
        "c1",
        "Olga.Smirnova@Example.com",
        "+7 999 555-11-11",
        "PAID",
        100.5,
        "RUB",
    ),
    ("o-in-2", "2024-01-09 18:30:00", "c2", None, "79990001122", "CANCELLED", None, None),
]
#: Distributions whose versions the result names.
VERSIONS = (
    "apache-airflow",
    "apache-airflow-providers-common-compat",
    "apache-airflow-providers-http",
    "apache-airflow-providers-common-sql",
    "apache-airflow-providers-openlineage",
    "pandas",
    "pyarrow",
    "fastapi",
    "pydantic",
)


def _load_test_module(name: str) -> ModuleType:
    """Load ``tests/<name>.py`` by path as ``tests.<name>``: putting the repository on sys.path
    would shadow the wheel. Only modules that need nothing but the standard library, Airflow's
    own dependencies and other modules loaded this way are loaded."""
    package = sys.modules.setdefault("tests", ModuleType("tests"))
    package.__path__ = []
    spec = importlib.util.spec_from_file_location(f"tests.{name}", REPO / "tests" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cli = _load_test_module("airflow_cli")
standalone = _load_test_module("standalone")

from deployment import DEPLOYED, DeploymentChecks  # noqa: E402  (compat/ is this script's folder)


class Checker:
    """Run the checks against one AIRFLOW_HOME and one emulator."""

    def __init__(self, home: Path, emulator: Any) -> None:
        self.home = home
        self.emulator = emulator
        self.db = cli.MetadataDb(home)
        self.warehouse = home / "warehouse.db"

    def env(self, dags: Path = EXAMPLE_DAGS, **extra: str) -> dict[str, str]:
        """Return the CLI environment: the emulator as ``metrika_default``, no repository on the path."""
        connection = {
            "conn_type": "metrika",
            "host": self.emulator.base_url,
            "password": TOKEN,
            "extra": {"counter_id": COUNTER, "retry_delay": 0.05, "max_retry_delay": 0.5},
        }
        env = cli.airflow_env(
            self.home,
            AIRFLOW_CONN_METRIKA_DEFAULT=json.dumps(connection),
            AIRFLOW_CONN_ORDERS_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(self.warehouse)}),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            **extra,
        )
        env["PYTHONPATH"] = ""
        return env

    def dags_test(
        self,
        dag_id: str,
        *args: str,
        dags: Path = EXAMPLE_DAGS,
        env: dict[str, str] | None = None,
        reset: bool = True,
        **settings: float,
    ) -> tuple[str, str]:
        """Run ``airflow dags test`` (a fresh emulator unless ``reset`` is False); return run id, output."""
        if reset:
            self.emulator.reset()
        self.emulator.configure(
            **{"listing_delay": 0.0, "status_delay": 0.0, "parallel_limit": None, **settings}
        )
        result = cli.run_airflow(["dags", "test", dag_id, *args], self.env(dags, **(env or {})), timeout=600)
        run_id = self.db.latest_run_id(dag_id)
        state = self.db.run_state(dag_id, run_id)
        assert state == "success", f"{dag_id} ended {state}\n{result.output[-6000:]}"
        # Below 3.3 a lookup of a missing Variable (the upload journal's) is logged at error level.
        errors = [
            line
            for line in result.output.splitlines()
            if "Variable not found" in line and "error" in line.split("Variable not found")[0].lower()
        ]
        assert not errors, f"{dag_id} succeeded with errors in its log: {errors[:2]}"
        return run_id, result.output

    def stored(self) -> dict[str, Any]:
        """Return the orders the emulator stored for the counter."""
        return dict(self.emulator.orders(COUNTER)["orders"])

    # -- checks ------------------------------------------------------------------------------------

    def provider_listed(self) -> None:
        """``airflow providers list`` names the package and its version."""
        result = cli.run_airflow(["providers", "list", "-o", "json"], self.env(), timeout=300)
        assert result.returncode == 0, result.output[-4000:]
        providers = {p["package_name"]: p["version"] for p in json.loads(result.stdout)}
        expected = version("airflow-provider-metrika")
        assert providers.get("airflow-provider-metrika") == expected, f"listed: {sorted(providers)}"

    def connection_form(self) -> None:
        """The API server's form metadata relabels the standard fields and carries the extra fields."""
        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

        [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "metrika"]
        assert meta.hook_name == "Yandex Metrika"
        fields: Any = meta.standard_fields
        assert fields is not None, "no standard fields"
        assert fields.host.title == "API base URL"
        assert fields.password.title == "OAuth token"
        assert fields.login.hidden
        assert fields.port.hidden
        extra = meta.extra_fields or {}
        assert set(extra) == {
            "counter_id",
            "retry_limit",
            "retry_delay",
            "max_retry_delay",
            "allow_insecure_http",
        }, f"extras: {extra}"
        counter = extra["counter_id"]
        counter = counter if isinstance(counter, dict) else counter.dump()
        assert counter["schema"]["title"] == "Default counter ID", counter
        assert "integer" in counter["schema"]["type"], counter

    def dags_import(self) -> None:
        """Every example DAG imports without error."""
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]  # Airflow < 3.2

        bag = DagBag(dag_folder=str(EXAMPLE_DAGS))  # examples off: AIRFLOW__CORE__LOAD_EXAMPLES
        assert not bag.import_errors, bag.import_errors
        assert set(bag.dag_ids) >= EXAMPLE_DAG_IDS, sorted(bag.dag_ids)
        # As a DAG processor would: store the DAGs, so their assets are active before any run.
        for folder in (EXAMPLE_DAGS, COMPAT_DAGS):
            result = cli.run_airflow(["dags", "reserialize"], self.env(folder), timeout=300)
            assert result.returncode == 0, result.output[-4000:]

    def dataframe_example(self) -> None:
        """A DataFrame returned by an upstream task (through XCom) is uploaded."""
        self.dags_test("example_metrika_dataframe")
        assert set(self.stored()) == {"web-1001", "web-1002", "web-1003"}

    def object_storage_example(self) -> None:
        """A file read through ObjectStoragePath is uploaded with hashed identifiers."""
        self.dags_test("example_metrika_object_storage")
        stored = self.stored()
        assert len(stored) == 10, sorted(stored)
        assert stored["A-1001"]["emails_md5"] == hashlib.md5(b"anna.petrova@example.com").hexdigest()

    def openlineage_events(self) -> None:
        """With the ``[openlineage]`` extra, the upload's COMPLETE event names the counter's orders."""
        events = self.home / "openlineage.jsonl"
        events.unlink(missing_ok=True)
        transport = json.dumps({"type": "file", "log_file_path": str(events), "append": True})
        self.dags_test("example_metrika_dataframe", env={"AIRFLOW__OPENLINEAGE__TRANSPORT": transport})
        assert events.exists(), "no OpenLineage event was written"
        found = [json.loads(line) for line in events.read_text().splitlines()]
        complete = [e for e in found if e["eventType"] == "COMPLETE"]
        outputs = {o["name"] for e in complete for o in e.get("outputs", [])}
        assert f"counter/{COUNTER}/simple_orders" in outputs, f"COMPLETE outputs: {sorted(outputs)}"

    def _write_warehouse(self) -> None:
        self.warehouse.unlink(missing_ok=True)
        with sqlite3.connect(self.warehouse) as conn:
            conn.execute(
                "CREATE TABLE orders (order_id TEXT, created_at TEXT, customer_id TEXT, email TEXT,"
                " phone TEXT, status TEXT, amount NUMERIC, currency TEXT)"
            )
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", WAREHOUSE_ROWS)

    def sql_example(self) -> None:
        """A query through a common.sql connection uploads the rows of the run's data interval."""
        self._write_warehouse()
        self.dags_test("example_metrika_sql", "2024-01-10")
        assert set(self.stored()) == {"o-in-1", "o-in-2"}

    def changed_only_example(self) -> None:
        """The daily sync sends the whole table once, then only the row changed in between."""
        self._write_warehouse()
        state = {"METRIKA_SYNC_STATE": str(self.home / "metrika-state")}
        shutil.rmtree(state["METRIKA_SYNC_STATE"], ignore_errors=True)
        self.dags_test("example_metrika_changed_only", env=state)
        assert set(self.stored()) == {row[0] for row in WAREHOUSE_ROWS}
        with sqlite3.connect(self.warehouse) as conn:
            conn.execute("UPDATE orders SET status = 'CANCELLED' WHERE order_id = 'o-in-1'")
        before = {u["uploading_id"] for u in self.emulator.uploadings(COUNTER)}
        # Metrika keeps the first run's uploadings: the second run confirms them, then sends the change.
        self.dags_test("example_metrika_changed_only", env=state, reset=False)
        new = [u for u in self.emulator.uploadings(COUNTER) if u["uploading_id"] not in before]
        assert sum(int(u.get("elements_count") or 0) for u in new) == 1, f"sent again: {new}"
        stored = self.stored()
        assert stored["o-in-1"]["order_status"] == "CANCELLED"
        states = {p.name.removesuffix(".changes") for p in (self.home / "metrika-state").iterdir()}
        assert len(states) == 1, sorted(states)
        assert all(n.endswith(".parquet") for n in states), sorted(states)

    def wait_example(self) -> None:
        """The sensor finds the upload still in progress, defers to the trigger, and ends on PASSED."""
        # The status stays in progress for 25 s: the first poke cannot pass, the sensor must defer
        # (starting the sensor's task took 7 s on Airflow 3.2 on a busy machine).
        run_id, _ = self.dags_test("example_metrika_wait_for_validation", status_delay=25.0)
        dag_id = "example_metrika_wait_for_validation"
        [uploading] = self.db.xcom(dag_id, run_id, "upload_orders")
        [status] = [
            u for u in self.emulator.uploadings(COUNTER) if u["uploading_id"] == uploading["uploading_id"]
        ]
        assert status["api_validation_status"] == "PASSED", status
        with sqlite3.connect(self.db.path) as conn:
            triggers = conn.execute("SELECT classpath FROM trigger").fetchall()
        assert any("airflow_provider_metrika" in row[0] for row in triggers), f"no deferral: {triggers}"

    def _our_triggers(self) -> int:
        """Return how many triggers of this provider the metadata DB holds."""
        with sqlite3.connect(self.db.path) as conn:
            rows = conn.execute("SELECT classpath FROM trigger").fetchall()
        return sum("airflow_provider_metrika" in row[0] for row in rows)

    def retry_skips_accepted_part(self) -> None:
        """A retry after a refused second part sends neither the first part again nor any order twice."""
        orders = self.home / "retry-orders.csv"
        lines = ["id,create_date_time,emails,revenue"]
        lines += [
            f"ord-{n:04d},2024-01-09 10:{n % 60:02d}:00,buyer{n}@example.com,{n}.50" for n in range(100)
        ]
        orders.write_text("\n".join(lines) + "\n")
        self.emulator.reset()
        self.emulator.inject_faults(
            {"target": "upload", "status": 400, "error_type": "invalid_uploading", "skip": 1}
        )
        dag_id = "compat_metrika_upload_retry"
        env = self.env(COMPAT_DAGS)
        result = cli.run_airflow(
            ["dags", "test", dag_id, "--conf", json.dumps({"orders_uri": f"file://{orders}"})], env
        )
        run_id = self.db.latest_run_id(dag_id)
        assert self.db.run_state(dag_id, run_id) == "success", result.output[-6000:]
        assert self.db.task_tries(dag_id, run_id, "upload_in_parts") == 2, "one failed try, one retry"
        uploads = self.emulator.api_requests(path_contains="simple_orders")
        sent = [u["multipart"][0]["sha256"] for u in uploads]
        accepted = [u["multipart"][0]["sha256"] for u in uploads if u["status"] == 200]
        assert len(set(sent)) == 3, f"three parts expected, saw {len(set(sent))}"
        assert sent.count(sent[0]) == 1, "the part accepted before the failure was sent again"
        assert sorted(accepted) == sorted(set(sent)), "each part accepted exactly once"
        stored = self.emulator.orders(COUNTER)
        assert len(stored["orders"]) == 100
        assert set(stored["applied_counts"].values()) == {1}, "an order was applied twice"

    def deferred_sync(self) -> None:
        """A changed_only upload waits deferred; its state moves once PASSED; a re-run sends nothing."""
        orders = self.home / "sync-orders.csv"
        rows = "".join(f"s-{n},2024-01-09 10:00:00,b{n}@example.com,{n}\n" for n in range(5))
        orders.write_text("id,create_date_time,emails,revenue\n" + rows)
        state = self.home / "sync-state"
        shutil.rmtree(state, ignore_errors=True)
        conf = json.dumps({"orders_uri": f"file://{orders}", "sync_state": str(state)})
        dag_id = "compat_metrika_sync_validated"
        triggers = self._our_triggers()
        run_id, _ = self.dags_test(dag_id, "--conf", conf, dags=COMPAT_DAGS, status_delay=4.0)
        assert self._our_triggers() == triggers + 1, "the wait did not defer"
        counts = self.db.xcom(dag_id, run_id, "sync", "sync_state")
        assert (counts["sent"], counts["state_orders"]) == (5, 5), counts
        # One destination's state: its file and the folder of its change files, nothing else.
        names = sorted(path.name for path in state.iterdir())
        assert names, "no sync state written"
        assert all(n.endswith((".parquet", ".parquet.changes")) for n in names), names
        assert len({n.removesuffix(".changes") for n in names}) == 1, names
        run_id, _ = self.dags_test(dag_id, "--conf", conf, dags=COMPAT_DAGS)
        assert self.emulator.uploadings(COUNTER) == [], "unchanged orders were sent again"
        assert self.db.xcom(dag_id, run_id, "sync", "sync_state")["unchanged"] == 5


CHECKS: list[tuple[str, Callable[[Checker], None]]] = [
    ("provider listed", Checker.provider_listed),
    ("connection form", Checker.connection_form),
    ("DAGs import", Checker.dags_import),
    ("DataFrame", Checker.dataframe_example),
    ("object storage", Checker.object_storage_example),
    ("SQL ([common.sql])", Checker.sql_example),
    ("OpenLineage ([openlineage])", Checker.openlineage_events),
    ("wait (deferred, dags test)", Checker.wait_example),
    ("retry skips accepted part", Checker.retry_skips_accepted_part),
    ("changed_only, twice", Checker.changed_only_example),
    ("changed_only, deferred wait (dags test)", Checker.deferred_sync),
]
#: The checks run by a real deployment (scheduler, DAG processor, triggerer): ``compat/deployment.py``.
DEPLOYMENT_CHECKS: list[tuple[str, Callable[[DeploymentChecks], None]]] = [
    (f"upload + deferred sensor {DEPLOYED}", DeploymentChecks.sensor_deferred),
    (f"operator, deferred wait {DEPLOYED}", DeploymentChecks.operator_deferred),
    (f"offline conversions, deferred wait {DEPLOYED}", DeploymentChecks.conversions_deferred),
    (f"expenses replaced twice {DEPLOYED}", DeploymentChecks.expenses_replaced),
    (f"token masked in trigger log {DEPLOYED}", DeploymentChecks.token_masked_in_trigger_log),
    (f"retry adopts a killed upload {DEPLOYED}", DeploymentChecks.retry_adopts_killed_upload),
    (f"Clear after success {DEPLOYED}", DeploymentChecks.clear_after_success),
    (f"mark success, then Clear {DEPLOYED}", DeploymentChecks.clear_after_marked_success),
    (f"stopped, nothing left {DEPLOYED}", DeploymentChecks.assert_stopped),
]


def _versions() -> dict[str, str]:
    found = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in VERSIONS:
        try:
            found[name] = version(name)
        except Exception:
            found[name] = "-"
    return found


def main() -> int:
    """Run every check, print each verdict as it comes, and write them all as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="AIRFLOW_HOME to create afresh")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--no-deployment", action="store_true", help="skip the checks of a real deployment")
    parser.add_argument("--only", nargs="*", help="run only the checks whose names contain one of these")
    args = parser.parse_args()
    home = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    provider = importlib.import_module("airflow_provider_metrika")
    assert "site-packages" in str(provider.__file__), f"not the installed wheel: {provider.__file__}"
    from airflow_provider_metrika.emulator.testing import run_emulator

    results: dict[str, dict[str, Any]] = {}
    migrate = cli.run_airflow(["db", "migrate"], cli.airflow_env(home, PYTHONPATH=""), timeout=600)

    def run(name: str, check: Callable[[], None], deployed: bool) -> None:
        if args.only and not any(part in name for part in args.only):
            return
        started = time.monotonic()
        try:
            assert migrate.returncode == 0, f"airflow db migrate failed\n{migrate.output[-4000:]}"
            check()
            ok, detail = True, ""
        except Exception as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        seconds = time.monotonic() - started
        results[name] = {"ok": ok, "detail": detail, "seconds": round(seconds, 1), "deployment": deployed}
        print(f"  {'ok  ' if ok else 'FAIL'} {name} ({seconds:.0f} s)", flush=True)
        if not ok:
            print("    " + detail[-6000:].replace("\n", "\n    "), flush=True)

    with run_emulator(tokens={TOKEN: None}, counters={COUNTER: "Europe/Moscow"}) as emulator:
        checker = Checker(home, emulator)
        for name, check in CHECKS:
            run(name, partial(check, checker), False)
        deployment = DeploymentChecks(standalone, home / "deployment" / "home", emulator, TOKEN, COUNTER)
        try:
            for name, deployment_check in [] if args.no_deployment else DEPLOYMENT_CHECKS:
                run(name, partial(deployment_check, deployment), True)
        finally:
            deployment.stop()
    args.out.write_text(json.dumps({"versions": _versions(), "checks": results}, indent=2))
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
