"""
Refresh the documentation's pictures: the Airflow UI of a real ``airflow standalone`` with the example DAGs.

Starts the Metrika emulator (holding uploadings unlisted, so the sensor stays deferred) and
``airflow standalone`` on loopback with a throw-away AIRFLOW_HOME, runs
``example_metrika_wait_for_validation``, and takes screenshots with headless Chromium (Debian's
``chromium`` package, driven by Playwright) of: the "Yandex Metrika" connection form (standard and
extra fields), the DAG run's
graph with the upload done and the sensor deferred, the upload task's log, and the log of
``example_metrika_linkage``'s check (visits seeded in the emulator, a short ``settle_seconds``).
Then it stops everything, process tree and all.

Run: ``make screenshots`` (installs Playwright into the virtual environment; needs
``apt-get install chromium``). ``python docs/screenshots.py linkage-log.png`` takes only the
pictures named.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"
#: The pictures to take; empty: all of them.
WANTED: set[str] = set()
DAG_ID = "example_metrika_wait_for_validation"
LINKAGE_DAG_ID = "example_metrika_linkage"
#: Visitors of the site who are customers of ``example_dags/data/crm_orders.csv`` (in the emulator).
LINKAGE_VISITS = [
    {"time": "2024-01-08 20:00", "email": "anna.petrova@example.com"},
    {"time": "2024-01-08 20:00", "email": "ivan@example.org"},
    {"time": "2024-01-08 20:00", "email": "olga.work@example.com"},
    {"time": "2024-01-08 20:00", "phone": "+7 926 111-22-33"},
]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _shoot(page: object, name: str) -> None:
    if WANTED and name not in WANTED:
        return
    path = IMAGES / name
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    print(f"wrote {path.relative_to(REPO)}")


def _log_full_width(page: Any) -> None:
    """Drag the divider between the graph and the task's details to the left edge, as a user widens
    the log to read it: the summary table is wider than the default panel."""
    handle = page.locator("[data-panel-resize-handle-id], [data-resize-handle], [role=separator]").first
    box = handle.bounding_box() if handle.count() else None
    if box is None:
        raise RuntimeError("no divider between the graph and the details panel")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 400, y, steps=10)
    page.mouse.move(90, y, steps=20)
    page.mouse.up()
    page.mouse.move(700, 1050)  # off the graph: no task tooltip in the picture
    page.wait_for_timeout(1500)
    bottom = page.get_by_role("button", name="Press Ctrl+↓ to scroll to bottom")
    if bottom.count():  # a log longer than the window: show its end, where the summary is
        bottom.click()
        page.wait_for_timeout(1000)


def take(base_url: str, run_id: str, linkage_run_id: str) -> None:
    """Take the screenshots from a running deployment."""
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})

        page.goto(f"{base_url}/connections", wait_until="networkidle")
        page.get_by_role("button", name="Add Connection").click()
        page.get_by_role("combobox").first.click()
        page.get_by_text("Yandex Metrika", exact=True).first.click()
        page.get_by_role("textbox").first.fill("metrika_default")
        page.wait_for_timeout(1500)
        _shoot(page, "connection-form.png")
        page.get_by_text("Extra Fields", exact=True).click()
        page.wait_for_timeout(1500)
        _shoot(page, "connection-form-extras.png")

        page.goto(f"{base_url}/dags/{DAG_ID}/runs/{run_id}", wait_until="networkidle")
        page.get_by_role("button", name=re.compile("graph", re.IGNORECASE)).first.click()
        page.wait_for_timeout(3000)
        _shoot(page, "dag-run-graph.png")

        page.set_viewport_size({"width": 1440, "height": 1100})
        page.goto(f"{base_url}/dags/{DAG_ID}/runs/{run_id}/tasks/upload_orders", wait_until="networkidle")
        page.wait_for_timeout(3000)
        _log_full_width(page)
        _shoot(page, "task-log.png")

        page.goto(
            f"{base_url}/dags/{LINKAGE_DAG_ID}/runs/{linkage_run_id}/tasks/check_linkage",
            wait_until="networkidle",
        )
        page.wait_for_timeout(3000)
        _log_full_width(page)
        _shoot(page, "linkage-log.png")
        browser.close()


def _run_linkage(deployment: Any) -> str:
    """Run the linkage example with a short settle time and return its run id once the check is done."""
    deployment.wait_for("DAG parsed", lambda: deployment.api("GET", f"/dags/{LINKAGE_DAG_ID}").ok, 240)
    deployment.api("PATCH", f"/dags/{LINKAGE_DAG_ID}", json={"is_paused": False}).raise_for_status()
    conf = {"settle_seconds": 5, "min_linked_share": 0.5}
    answer = deployment.api(
        "POST", f"/dags/{LINKAGE_DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf}
    )
    answer.raise_for_status()
    run_id: str = answer.json()["dag_run_id"]
    deployment.wait_for(
        "the linkage check done",
        lambda: deployment.db.task_states(LINKAGE_DAG_ID, run_id).get("check_linkage") == "success",
        240,
    )
    return run_id


def main() -> int:
    """Run the deployment, take the screenshots, stop everything."""
    WANTED.update(sys.argv[1:])
    sys.path.insert(0, str(REPO))
    from airflow_provider_metrika.emulator.testing import run_emulator
    from tests.standalone import Standalone, free_port, standalone_env

    with (
        tempfile.TemporaryDirectory(prefix="metrika-screenshots-") as tmp,
        run_emulator(
            tokens={"tok-SECRET-1b2c3d4e5f": None},
            counters={12345: "Europe/Moscow", 67890: "Asia/Yekaterinburg"},
        ) as emulator,
    ):
        emulator.configure(listing_delay=3600)  # the sensor stays deferred while the pictures are taken
        emulator.seed_visits(LINKAGE_VISITS, counter_id=12345)
        home = Path(tmp) / "airflow-home"
        home.mkdir()
        port = free_port()
        deployment = Standalone(home, standalone_env(home, port, emulator.base_url), Path(tmp) / "log", port)
        try:
            deployment.wait_for("API server", lambda: deployment.api("GET", "/monitor/health").ok, 240)
            deployment.wait_for("DAG parsed", lambda: deployment.api("GET", f"/dags/{DAG_ID}").ok, 240)
            deployment.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
            answer = deployment.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
            answer.raise_for_status()
            run_id = answer.json()["dag_run_id"]
            deployment.wait_for(
                "the sensor deferred",
                lambda: deployment.db.task_states(DAG_ID, run_id).get("wait_for_validation") == "deferred",
                180,
            )
            take(deployment.base_url, run_id, _run_linkage(deployment))
        finally:
            leftovers = deployment.stop()
    if leftovers:
        print(f"still running after the stop: {leftovers}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
