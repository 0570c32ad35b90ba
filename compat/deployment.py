"""The compatibility checks that need a real deployment: scheduler, DAG processor and triggerer.

``airflow standalone`` (each component its own process, LocalExecutor) runs the DAGs of
``compat/deployment_dags`` against the emulator, started once for all of these checks and
stopped, process tree and all, at the end. Each check is judged on what the emulator stored and
what Airflow recorded: run and task states, tries, XComs, trigger rows and the log files.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

DAGS = Path(__file__).resolve().parent / "deployment_dags"
#: Seconds for the components to come up and parse the DAGs on a busy 2-core machine.
STARTUP_TIMEOUT = 300
#: Seconds for a run to reach each awaited state.
STATE_TIMEOUT = 240
#: How the names of these checks say that a real scheduler and triggerer ran them.
DEPLOYED = "(scheduler + triggerer)"
#: A line Airflow's logging wrote to stdout: it starts with an ISO 8601 time.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


class DeploymentChecks:
    """
    Run the deployment checks against one emulator; the deployment starts with the first check.

    :param standalone: the ``tests/standalone.py`` module.
    :param home: the deployment's AIRFLOW_HOME (created afresh).
    :param emulator: the emulator client.
    :param token: the token of ``metrika_default``.
    :param counter: its default counter.
    """

    def __init__(self, standalone: ModuleType, home: Path, emulator: Any, token: str, counter: int) -> None:
        self.standalone_module = standalone
        self.home = home
        self.emulator = emulator
        self.token = token
        self.counter = counter
        self.deployment: Any = None

    # -- the deployment --------------------------------------------------------------------------

    def start(self) -> Any:
        """Start ``airflow standalone`` on the deployment DAGs (once) and wait until it answers."""
        if self.deployment is not None:
            return self.deployment
        module = self.standalone_module
        self.home.mkdir(parents=True, exist_ok=True)
        port = module.free_port()
        extra = {"counter_id": self.counter, "retry_delay": 0.2, "max_retry_delay": 2}
        connection = {"conn_type": "metrika", "host": self.emulator.base_url, "password": self.token}
        env = module.standalone_env(
            self.home,
            port,
            self.emulator.base_url,
            connection=json.dumps({**connection, "extra": extra}),
            # A lost answer is looked for in Metrika's list for 1 s only (the default is minutes).
            AIRFLOW_CONN_METRIKA_UNCERTAIN=json.dumps(
                {**connection, "extra": {**extra, "lost_answer_wait": 1}}
            ),
            AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            # The installed wheel runs, never the repository's sources.
            PYTHONPATH="",
        )
        self.deployment = module.Standalone(self.home, env, self.home.parent / "standalone.log", port)
        self.deployment.wait_for(
            "healthy API server", lambda: self.deployment.api("GET", "/monitor/health").ok, STARTUP_TIMEOUT
        )
        return self.deployment

    def stop(self) -> list[str]:
        """Stop the deployment; return the processes still running afterwards."""
        return [] if self.deployment is None else list(self.deployment.stop())

    def _trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        deployment = self.start()
        deployment.wait_for(
            f"DAG {dag_id} parsed", lambda: deployment.api("GET", f"/dags/{dag_id}").ok, STARTUP_TIMEOUT
        )
        answer = deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert answer.ok, answer.text
        answer = deployment.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        assert answer.ok, answer.text
        return str(answer.json()["dag_run_id"])

    def _finished(self, dag_id: str, run_id: str) -> str:
        return str(
            self.deployment.wait_for(
                f"{dag_id} {run_id} to finish",
                lambda: (s := self.deployment.db.run_state(dag_id, run_id)) in ("success", "failed") and s,
                STATE_TIMEOUT,
            )
        )

    def _deferred(self, dag_id: str, run_id: str, task_id: str) -> None:
        self.deployment.wait_for(
            f"{task_id} deferred",
            lambda: self.deployment.db.task_states(dag_id, run_id).get(task_id) == "deferred",
            STATE_TIMEOUT,
        )
        kwargs = self.deployment.db.trigger_kwargs()
        assert any("uploading_ids" in row for row in kwargs), f"no trigger of ours: {kwargs}"
        assert not any(self.token in row for row in kwargs), "the token is in the trigger kwargs"
        # The trigger's first poll (one interval after it starts) is awaited before Metrika is let
        # to answer: an event fired while the executor still reports the deferring try is taken
        # by the scheduler for an external state change, and the task fails (seen on 3.0).
        polls = len(self.emulator.api_requests(path_contains="last_uploadings"))
        self.deployment.wait_for(
            "the trigger's first poll",
            lambda: len(self.emulator.api_requests(path_contains="last_uploadings")) > polls,
            STATE_TIMEOUT,
        )

    def _clear_and_rerun(self, dag_id: str, run_id: str) -> None:
        """Clear the upload task as the UI does, and wait until its next try has ended."""
        db = self.deployment.db
        tries = db.task_tries(dag_id, run_id, "upload")
        answer = self.deployment.api(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": ["upload"], "only_failed": False},
        )
        assert answer.ok, answer.text
        self.deployment.wait_for(
            "the cleared task to run again",
            lambda: (
                db.task_tries(dag_id, run_id, "upload") > tries
                and db.task_states(dag_id, run_id)["upload"] in ("success", "failed")
            ),
            STATE_TIMEOUT,
        )

    def _orders(self, name: str, ids: list[str], with_ids: bool = True) -> str:
        path = self.home.parent / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{i if with_ids else ''},2024-01-09 10:00:00,{i}@example.com\n" for i in ids]
        path.write_text("id,create_date_time,emails\n" + "".join(rows))
        return str(path)

    def _fresh_emulator(self, **settings: float) -> None:
        self.emulator.reset()
        self.emulator.configure(
            **{"listing_delay": 0.0, "status_delay": 0.0, "parallel_limit": None, **settings}
        )

    def _logs(self) -> str:
        """Return the deployment's output and every task and trigger log file."""
        texts = [self.deployment.log_path.read_text(encoding="utf-8", errors="replace")]
        texts += [
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted((self.home / "logs").rglob("*"))
            if path.is_file()
        ]
        return "\n".join(texts)

    def _assert_stored_once(self, ids: set[str], without_id: int = 0) -> None:
        stored = self.emulator.orders(self.counter)
        assert set(stored["orders"]) == ids, f"stored: {sorted(stored['orders'])}"
        assert len(stored["orders_without_id"]) == without_id, stored["orders_without_id"]
        assert set(stored["applied_counts"].values()) <= {1}, f"applied twice: {stored['applied_counts']}"

    # -- checks ----------------------------------------------------------------------------------

    def sensor_deferred(self) -> None:
        """An upload, then ``MetrikaUploadingSensor(deferrable=True)`` waits in the triggerer: PASSED."""
        dag_id, sensor = "compat_deployment_upload_and_wait", "wait_for_validation"
        # Not listed until the sensor is seen deferred: its first poke must find the upload pending.
        self._fresh_emulator(listing_delay=3600)
        ids = ["w-1", "w-2", "w-3"]
        run_id = self._trigger(dag_id, {"orders_uri": self._orders("sensor", ids)})
        self._deferred(dag_id, run_id, sensor)
        self.emulator.configure(listing_delay=0)
        state = self._finished(dag_id, run_id)
        assert state == "success", self.deployment.tail()
        db = self.deployment.db
        assert db.task_states(dag_id, run_id) == {"upload": "success", sensor: "success"}
        [validated] = db.xcom(dag_id, run_id, sensor)
        assert validated["api_validation_status"] == "PASSED", validated
        [uploading] = self.emulator.uploadings(self.counter)
        assert validated["uploading_id"] == uploading["uploading_id"]
        self._assert_stored_once(set(ids))

    def operator_deferred(self) -> None:
        """The operator with ``wait_for_validation=True, deferrable=True`` uploads, defers, ends PASSED."""
        dag_id = "compat_deployment_upload_validated"
        self._fresh_emulator(listing_delay=3600)
        ids = ["v-1", "v-2"]
        run_id = self._trigger(dag_id, {"orders_uri": self._orders("operator", ids)})
        self._deferred(dag_id, run_id, "upload")
        self.emulator.configure(listing_delay=0)
        state = self._finished(dag_id, run_id)
        assert state == "success", self.deployment.tail()
        [validated] = self.deployment.db.xcom(dag_id, run_id, "upload")
        assert validated["api_validation_status"] == "PASSED", validated
        assert len(self.emulator.uploadings(self.counter)) == 1
        self._assert_stored_once(set(ids))

    def conversions_deferred(self) -> None:
        """Offline conversions wait, deferred, until processed; stored once; the kind in the trigger."""
        import time

        dag_id = "compat_deployment_conversions_processed"
        self._fresh_emulator()
        self.emulator.configure_offline(self.counter, hold_processing=True)
        path = self.home / "conversions.csv"
        moment = int(time.time()) - 600
        rows = [f"oplata_cash,{moment - n},17047912341234567{n:02d}" for n in range(3)]
        path.write_text("\n".join(["Target,DateTime,ClientId", *rows]) + "\n")
        run_id = self._trigger(dag_id, {"uri": str(path)})
        self.deployment.wait_for(
            "upload deferred",
            lambda: self.deployment.db.task_states(dag_id, run_id).get("upload") == "deferred",
            STATE_TIMEOUT,
        )
        kwargs = self.deployment.db.trigger_kwargs()
        assert any("offline_conversions" in row for row in kwargs), f"no offline trigger: {kwargs}"
        assert not any(self.token in row for row in kwargs), "the token is in the trigger kwargs"
        self.emulator.configure_offline(self.counter, hold_processing=False)
        self.emulator.release()
        assert self._finished(dag_id, run_id) == "success", self.deployment.tail()
        [processed] = self.deployment.db.xcom(dag_id, run_id, "upload")
        assert processed["status"] == "PROCESSED", processed
        stored = self.emulator.stored_conversions(self.counter)
        assert len(stored) == 3, stored
        assert {row["writes"] for row in stored} == {1}, stored

    def expenses_replaced(self) -> None:
        """An expenses replace run twice: the second run's amounts, once; another provider's kept."""
        dag_id = "compat_deployment_expenses_replace"
        self._fresh_emulator()
        path = self.home / "spend.csv"
        for amount in (100, 120):
            path.write_text(f"Date,UTMSource,UTMCampaign,Expenses\n2024-01-09,vk,brand,{amount}\n")
            run_id = self._trigger(dag_id, {"uri": str(path)})
            assert self._finished(dag_id, run_id) == "success", self.deployment.tail()
        rows = [row for row in self.emulator.stored_expenses(self.counter) if row["provider"] == "compat_ads"]
        assert [float(row["Expenses"]) for row in rows] == [120.0], rows

    def token_masked_in_trigger_log(self) -> None:
        """A failure whose text holds the token is logged by the trigger with ``***`` in its place."""
        dag_id, sensor = "compat_deployment_upload_and_wait", "wait_for_validation"
        self._fresh_emulator(listing_delay=3600)
        run_id = self._trigger(dag_id, {"orders_uri": self._orders("masked", ["m-1"])})
        self._deferred(dag_id, run_id, sensor)
        # Metrika's refusal quotes the token: the trigger's error line carries it into the logs.
        message = f"Refused for token {self.token} on purpose"
        fault = {"target": "last_uploadings", "status": 400, "error_type": "invalid_parameter"}
        self.emulator.inject_faults({**fault, "message": message})
        assert self._finished(dag_id, run_id) == "failed", self.deployment.tail()
        assert self.deployment.db.task_states(dag_id, run_id)[sensor] == "failed"
        logs = self._logs()
        assert self.token not in logs, "the token is in the deployment's logs"
        assert message.replace(self.token, "***") in logs, "the trigger's failure line is not in the logs"

    def retry_adopts_killed_upload(self) -> None:
        """The task is killed after Metrika stored its upload; the retry adopts it, sends nothing again."""
        dag_id = "compat_deployment_upload_retry"
        self._fresh_emulator()
        # Metrika stores the file, then holds the answer: the task process is killed while it waits.
        self.emulator.inject_faults({"target": "upload", "delay": 120})
        orders = self._orders("killed", ["k-1", "k-2"], with_ids=False)
        run_id = self._trigger(dag_id, {"orders_uri": orders, "merge_mode": "APPEND"})
        self.deployment.wait_for(
            "the upload stored", lambda: self.emulator.uploadings(self.counter), STATE_TIMEOUT
        )
        self.standalone_module.uploading_process(self.emulator.base_url).send_signal(signal.SIGKILL)
        db = self.deployment.db
        if self._finished(dag_id, run_id) == "failed" and db.task_tries(dag_id, run_id, "upload") == 1:
            # Airflow 3.0 fails a task killed by a signal without its retries: a person clears it.
            self._clear_and_rerun(dag_id, run_id)
        assert db.task_states(dag_id, run_id)["upload"] == "success", self.deployment.tail()
        assert db.task_tries(dag_id, run_id, "upload") == 2, "one killed try, one retry"
        posts = self.emulator.api_requests(path_contains="simple_orders")
        assert len(posts) == 1, f"{len(posts)} upload requests: the retry sent the file again"
        [uploading] = db.xcom(dag_id, run_id, "upload")
        assert uploading["uploading_id"] == self.emulator.uploadings(self.counter)[0]["uploading_id"]
        self._assert_stored_once(set(), without_id=2)

    def clear_after_success(self) -> None:
        """A succeeded upload task, cleared as the UI does, sends again in its new try (journal closed)."""
        dag_id = "compat_deployment_upload_retry"
        self._fresh_emulator()
        ids = ["c-1", "c-2"]
        run_id = self._trigger(dag_id, {"orders_uri": self._orders("cleared", ids)})
        assert self._finished(dag_id, run_id) == "success", self.deployment.tail()
        self._clear_and_rerun(dag_id, run_id)
        assert self.deployment.db.task_states(dag_id, run_id)["upload"] == "success", self.deployment.tail()
        posts = self.emulator.api_requests(path_contains="simple_orders")
        assert len(posts) == 2, f"{len(posts)} upload requests: the cleared task did not send again"
        assert set(self.emulator.orders(self.counter)["orders"]) == set(ids)

    def clear_after_marked_success(self) -> None:
        """An uncertain upload resolved by hand (``forget``), marked success, then cleared: sent again."""
        dag_id = "compat_deployment_upload_uncertain"
        # The answer is lost after Metrika stored the file, and it is not listed: uncertain, the task fails.
        self._fresh_emulator(listing_delay=600)
        self.emulator.inject_faults({"target": "upload", "drop": "after"})
        orders = self._orders("uncertain", ["u-1", "u-2"], with_ids=False)
        run_id = self._trigger(dag_id, {"orders_uri": orders, "merge_mode": "APPEND"})
        assert self._finished(dag_id, run_id) == "failed", self.deployment.tail()
        [record] = json.loads(self._journal("show", dag_id, run_id))["records"]
        assert record["state"] == "sending", record
        # The person finds the upload in Metrika: resolved, then marked success.
        assert "Forgot 1 upload record" in self._journal("forget", dag_id, run_id)
        answer = self.deployment.api(
            "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/upload", json={"new_state": "success"}
        )
        assert answer.ok, answer.text
        assert json.loads(self._journal("show", dag_id, run_id))["records"] == []
        # Later the counter's data is deleted in Metrika, and the task is cleared to send it again.
        self._fresh_emulator()
        self._clear_and_rerun(dag_id, run_id)
        assert self.deployment.db.task_states(dag_id, run_id)["upload"] == "success", self.deployment.tail()
        assert len(self.emulator.api_requests(path_contains="simple_orders")) == 1
        self._assert_stored_once(set(), without_id=2)

    def _journal(self, verb: str, dag_id: str, run_id: str) -> str:
        """Run ``python -m airflow_provider_metrika.delivery <verb>`` on the deployment, as a person would."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow_provider_metrika.delivery", verb, *self._task(dag_id, run_id)],
            env=self.deployment.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # Airflow 3.2 logs to stdout as it loads (alembic's plugins): those lines are left out.
        return "".join(line for line in result.stdout.splitlines(keepends=True) if not LOG_LINE.match(line))

    @staticmethod
    def _task(dag_id: str, run_id: str) -> list[str]:
        return ["--dag-id", dag_id, "--run-id", run_id, "--task-id", "upload"]

    def assert_stopped(self) -> None:
        """The whole deployment stops: no process of it is left running."""
        assert self.deployment is not None, "the deployment never started"
        leftovers = self.stop()
        assert leftovers == [], f"processes left running after the stop: {leftovers}"
