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

from airflow_provider_metrika import __version__, examples
from tests.airflow_cli import REPO

UV = Path(sys.executable).parent / "uv"


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist and the wheel from the working tree, as ``make dist`` does."""
    out = tmp_path_factory.mktemp("dist")
    _run([str(UV), "build", "--out-dir", str(out), str(REPO)])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    """Return the built wheel."""
    [built] = dist.glob("*.whl")
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
    assert "metrika-examples = airflow_provider_metrika.examples:main" in entry_points
    prefix = "airflow_provider_metrika/example_dags/"
    shipped = {n.removeprefix(prefix) for n in names if n.startswith(prefix)}
    data = {"data/sample_orders.csv", "data/crm_orders.csv", "data/agency/counter_12345.csv"}
    assert {f"{dag}.py" for dag in EXAMPLE_DAG_IDS} | data <= shipped


def test_wheel_ships_py_typed_the_license_and_the_provider_entry_point(wheel: Path) -> None:
    info = f"airflow_provider_metrika-{__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "airflow_provider_metrika/py.typed" in names
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert "License-Expression: Apache-2.0" in metadata
    provider_info = "provider_info = airflow_provider_metrika.get_provider_info:get_provider_info"
    assert f"[apache_airflow_provider]\n{provider_info}" in entry_points
    assert {"Provides-Extra: common-sql", "Provides-Extra: openlineage"} <= set(metadata.splitlines())
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert "Requires-Dist: apache-airflow-providers-common-sql>=1.27.0; extra == 'common-sql'" in requires
    # The core needs no common.sql and no common-compat: Airflow's own constraints decide those.
    assert not [r for r in requires if "common-sql" in r and "extra ==" not in r]
    assert not [r for r in requires if "common-compat" in r and "extra ==" not in r]


def test_the_release_check_passes_the_built_files_and_twine_accepts_them(dist: Path) -> None:
    checked = _run([sys.executable, str(REPO / "scripts" / "check_dist.py"), str(dist)])
    files = [*dist.glob("*.whl"), *dist.glob("*.tar.gz")]
    twine = _run([str(Path(sys.executable).parent / "twine"), "check", "--strict", *map(str, files)])

    assert "console scripts and example DAGs present" in checked.stdout
    assert twine.stdout.count("PASSED") == 2, twine.stdout


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
    # No clone: the examples come from the wheel, and parse in a DAGs folder as a DAG processor reads it.
    dags = tmp_path / "dags"
    dags.mkdir()
    copied = _run([str(venv / "bin" / "metrika-examples"), "copy", str(dags)], cwd=tmp_path)
    assert f"to {dags / 'metrika_examples'}" in copied.stdout
    parsed = _run([str(python), "-c", PARSE_DAGS, str(dags)], env=env, cwd=tmp_path)
    assert json.loads(parsed.stdout.strip().splitlines()[-1]) == {
        "errors": {},
        "dags": sorted(EXAMPLE_DAG_IDS),
    }


#: Parse a DAGs folder in a fresh interpreter; print its import errors and DAG ids as JSON.
PARSE_DAGS = (
    "import json, sys\n"
    "from airflow.dag_processing.dagbag import DagBag\n"
    "bag = DagBag(dag_folder=sys.argv[1])\n"
    "errors = {k: str(v) for k, v in bag.import_errors.items()}\n"
    "print(json.dumps({'errors': errors, 'dags': sorted(bag.dags)}))"
)
#: The example DAGs of the repository (one DAG per file, named as the file).
EXAMPLE_DAG_IDS = sorted(path.stem for path in (REPO / "example_dags").glob("example_*.py"))


def test_the_examples_command_copies_every_example_and_its_data_into_a_folder_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert examples.main(["copy", str(tmp_path)]) == 0

    target = tmp_path / examples.TARGET_NAME
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    source = REPO / "example_dags"
    expected = [*source.glob("example_*.py"), *(p for p in (source / "data").rglob("*") if p.is_file())]
    assert copied == sorted(str(p.relative_to(source)) for p in expected)
    for path in expected:
        assert (target / path.relative_to(source)).read_bytes() == path.read_bytes()
    assert f"Copied {len(list(source.glob('example_*.py')))} example DAGs" in capsys.readouterr().out


def test_the_examples_command_keeps_an_earlier_copy_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert examples.main(["copy", str(tmp_path)]) == 0
    edited = tmp_path / examples.TARGET_NAME / "example_metrika_sql.py"
    edited.write_text("# my changes\n")

    assert examples.main(["copy", str(tmp_path)]) == 1
    assert "pass --force to overwrite them" in capsys.readouterr().err
    assert edited.read_text() == "# my changes\n"
    assert examples.main(["copy", "--force", str(tmp_path)]) == 0
    assert edited.read_bytes() == (REPO / "example_dags" / "example_metrika_sql.py").read_bytes()


def test_the_examples_command_refuses_a_dags_folder_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert examples.main(["copy", str(tmp_path / "nowhere")]) == 1
    assert "is not a folder: pass your Airflow DAGs folder" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
