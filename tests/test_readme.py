"""
The README and the docs pages run as written: the README's DAG, the connection test command
(docs/connection.md), and the emulator page's shell and Python (docs/emulator.md).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient, run_emulator
from tests.airflow_cli import REPO
from tests.conftest import COUNTER, connection_json, documented_connection

README = REPO / "README.md"
EMULATOR_PAGE = REPO / "docs" / "emulator.md"
CONNECTION_PAGE = REPO / "docs" / "connection.md"
SECTION = re.compile(r"<!-- readme-test: emulator start -->(.*?)<!-- readme-test: emulator end -->", re.S)
DAG_SECTION = re.compile(r"<!-- readme-test: dag start -->(.*?)<!-- readme-test: dag end -->", re.S)
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
#: The README's port; the test swaps in a free one so that parallel runs cannot collide.
README_PORT = "8765"


def _blocks(page: Path = EMULATOR_PAGE, section_re: re.Pattern[str] = SECTION) -> dict[str, str]:
    section = section_re.search(page.read_text(encoding="utf-8"))
    assert section, f"{page.name} lost its readme-test markers"
    return {language: code for language, code in BLOCK.findall(section.group(1))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_emulator_pages_section_runs_as_written_from_a_clone(tmp_path: Path) -> None:
    blocks = _blocks()
    assert blocks["bash"].splitlines()[-1] == "python", "the shell block ends by starting Python"
    shell = blocks["bash"].replace(README_PORT, str(_free_port()))
    (tmp_path / "snippet.py").write_text(blocks["python"], encoding="utf-8")
    # A user's shell: no activated venv, no Metrika connection, an empty AIRFLOW_HOME of their own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    with (tmp_path / "snippet.py").open("rb") as stdin, (tmp_path / "out.txt").open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-e", "-c", shell],
            cwd=REPO,
            env=env,
            stdin=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the emulator started with & stays in this group: stopped below
        )
        try:
            returncode = process.wait(timeout=540)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(5)
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    output = (tmp_path / "out.txt").read_text(encoding="utf-8", errors="replace")

    assert returncode == 0, output[-5000:]
    assert "Metrika emulator listening on" in output
    assert "state=success" in output, output[-5000:]
    assert "Simplified orders:" in output
    assert output.rstrip().splitlines()[-1] == "PASSED", output[-3000:]


def test_the_connection_pages_test_command_works_as_written(metrika: EmulatorClient, tmp_path: Path) -> None:
    text = CONNECTION_PAGE.read_text(encoding="utf-8")
    command = next(line for line in text.splitlines() if "airflow connections test metrika_default" in line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), env.get("PATH", "")])
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW_CONN_METRIKA_DEFAULT": connection_json(metrika.base_url, counter_id=COUNTER),
        }
    )

    result = subprocess.run(
        ["bash", "-e", "-c", command.strip()], env=env, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connection success!" in result.stdout


def _page_command(text: str, fragment: str) -> str:
    return next(line for line in text.splitlines() if fragment in line).strip()


@pytest.fixture
def documented_emulator() -> Iterator[EmulatorClient]:
    """Run the emulator as the emulator page starts it: its defaults (``metrika-emulator --port N``)."""
    with run_emulator() as emulator:
        yield emulator


def test_the_connection_pages_quoted_test_outputs_are_what_the_commands_print(
    documented_emulator: EmulatorClient, tmp_path: Path
) -> None:
    metrika = documented_emulator
    text = CONNECTION_PAGE.read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), env.get("PATH", "")])
    # The connection the emulator page gives: no default counter, the emulator's default token.
    env["AIRFLOW_HOME"] = str(tmp_path)
    env["AIRFLOW_CONN_METRIKA_DEFAULT"] = documented_connection(metrika.base_url)

    def run(command: str, **extra: str) -> str:
        result = subprocess.run(
            ["bash", "-e", "-c", command], env={**env, **extra}, capture_output=True, text=True, timeout=300
        )
        return _words(result.stdout)

    cli = _page_command(text, "airflow connections test metrika_default")
    hook = _page_command(text, "MetrikaHook('metrika_default').test_connection()")
    quoted = {_words(block) for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)}

    assert run(cli) in quoted
    assert run(hook) in quoted
    assert run(cli, AIRFLOW_CONN_METRIKA_DEFAULT=connection_json(metrika.base_url, token="wrong")) in quoted
    disabled = run(cli.replace("AIRFLOW__CORE__TEST_CONNECTION=Enabled ", ""))
    assert disabled.startswith("Testing connections is disabled")
    assert disabled in _words(text)


def _words(text: str) -> str:
    """Return ``text`` with every run of whitespace as one space (the CLI wraps to the terminal)."""
    return " ".join(text.split())


#: Airflow's constraints file for the running Airflow and Python versions.
CONSTRAINTS_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-${AIRFLOW_VERSION}/constraints-${PYTHON_VERSION}.txt"


@pytest.mark.parametrize("page", [README, REPO / "docs" / "getting-started.md"], ids=lambda p: p.name)
def test_every_install_command_keeps_airflows_versions_with_its_constraints_file(page: Path) -> None:
    install = page.read_text(encoding="utf-8").split("## Install", 1)[1].split("\n## ", 1)[0]
    commands = [
        " ".join(block.replace("\\\n", " ").split())
        for block in re.findall(r"```bash\n(.*?)```", install, re.S)
    ]
    installs = [line for block in commands for line in block.split(" pip install ")[1:]]

    assert installs, f"{page.name}: no pip install command in its Install section"
    for command in installs:
        assert "--constraint" in command, f"{page.name}: pip install {command} keeps no constraint"
    text = install.replace("$CONSTRAINTS", CONSTRAINTS_URL)
    assert CONSTRAINTS_URL in text
    assert "AIRFLOW_VERSION=\"$(python -c 'import airflow; print(airflow.__version__)')\"" in text
    assert "pandas<3" in text, "the fallback below Airflow 3.3"


def test_the_readmes_dag_parses_in_airflow_with_its_two_tasks(tmp_path: Path) -> None:
    (tmp_path / "readme_dag.py").write_text(_blocks(README, DAG_SECTION)["python"], encoding="utf-8")
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(tmp_path)!r})\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'tasks': {d: sorted(t.task_id for t in dag.tasks) for d, dag in bag.dags.items()}}))"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    # A fresh interpreter, as a DAG processor parses the file.
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed == {
        "errors": {},
        "tasks": {"crm_orders_to_metrika": ["upload_orders", "wait_for_validation"]},
    }, parsed
