"""The built wheel installs into a fresh virtual environment with Airflow and registers the provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from airflow_provider_metrika import __version__
from tests.airflow_cli import REPO

UV = Path(sys.executable).parent / "uv"


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from the working tree."""
    out = tmp_path_factory.mktemp("dist")
    _run([str(UV), "build", "--wheel", "--out-dir", str(out), str(REPO)])
    [built] = out.glob("*.whl")
    return built


def test_wheel_carries_the_version_metadata_and_entry_points(wheel: Path) -> None:
    assert wheel.name == f"airflow_provider_metrika-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"airflow_provider_metrika-{__version__}.dist-info/METADATA").decode()
        entry_points = archive.read(
            f"airflow_provider_metrika-{__version__}.dist-info/entry_points.txt"
        ).decode()
    assert "airflow_provider_metrika/emulator/testing.py" in names
    assert not [n for n in names if n.startswith(("tests/", "example_dags/", "bench/"))]
    assert "Classifier: Framework :: Apache Airflow :: Provider" in metadata
    assert "Classifier: Framework :: Apache Airflow" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert "Project-URL: Changelog" in metadata
    assert "apache_airflow_provider" in entry_points
    assert "metrika-emulator" in entry_points


def test_wheel_installs_in_a_fresh_venv_and_airflow_lists_the_provider(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    # Same Airflow as the development environment, so the install is served from the local cache.
    _run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            str(wheel),
            f"apache-airflow=={version('apache-airflow')}",
        ]
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    listed = _run([str(python), "-m", "airflow", "providers", "list", "-o", "json"], env=env, cwd=tmp_path)

    providers = {p["package_name"]: p for p in json.loads(listed.stdout)}
    assert providers["airflow-provider-metrika"]["version"] == __version__
    emulator = _run([str(venv / "bin" / "metrika-emulator"), "--help"], cwd=tmp_path)
    assert "--listing-delay" in emulator.stdout
