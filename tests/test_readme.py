"""The README runs as written: the connection test command, and the emulator section's shell and Python."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from contextlib import suppress
from pathlib import Path

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.airflow_cli import REPO
from tests.conftest import COUNTER, connection_json

README = REPO / "README.md"
SECTION = re.compile(r"<!-- readme-test: emulator start -->(.*?)<!-- readme-test: emulator end -->", re.S)
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
#: The README's port; the test swaps in a free one so that parallel runs cannot collide.
README_PORT = "8765"


def _blocks() -> dict[str, str]:
    section = SECTION.search(README.read_text(encoding="utf-8"))
    assert section, "README.md lost its readme-test markers around the emulator section"
    return {language: code for language, code in BLOCK.findall(section.group(1))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_readme_emulator_section_runs_as_written_from_a_clone(tmp_path: Path) -> None:
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


def test_the_readmes_connection_test_command_works_as_written(
    metrika: EmulatorClient, tmp_path: Path
) -> None:
    text = README.read_text(encoding="utf-8")
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
