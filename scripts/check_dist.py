"""Check the built release files in ``dist/``: metadata, the wheel's file list and its example DAGs.

    .venv/bin/python scripts/check_dist.py dist

Run by ``make dist`` after ``twine check``. Exits 1 naming each problem.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_metrika"
ENTRY_POINT = "provider_info = airflow_provider_metrika.get_provider_info:get_provider_info"
#: The console scripts the wheel installs.
SCRIPTS = (
    "metrika-emulator = airflow_provider_metrika.emulator.__main__:main",
    "metrika-examples = airflow_provider_metrika.examples:main",
)


def example_problems(wheel: Path, names: set[str]) -> list[str]:
    """Return the example DAGs and data files of the repository that the wheel does not ship."""
    source = REPO / "example_dags"
    expected = [*source.glob("example_*.py"), *(p for p in (source / "data").rglob("*") if p.is_file())]
    missing = sorted(
        str(path.relative_to(source))
        for path in expected
        if f"{PACKAGE}/example_dags/{path.relative_to(source).as_posix()}" not in names
    )
    if not expected:
        return [f"{source} holds no example DAGs to ship"]
    return [f"{wheel.name}: example files missing from {PACKAGE}/example_dags/: {missing}"] if missing else []


def _project() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as stream:
        return dict(tomllib.load(stream)["project"])


def wheel_problems(wheel: Path, version: str) -> list[str]:
    """Return what is wrong with the wheel: missing files, metadata or entry point."""
    problems: list[str] = []
    info = f"{PACKAGE}-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    for needed in (f"{PACKAGE}/py.typed", f"{PACKAGE}/__init__.py", f"{info}/licenses/LICENSE"):
        if needed not in names:
            problems.append(f"{wheel.name}: {needed} is missing")
    outside = {"tests", "bench", "example_dags", "docs", "compat", "scripts"}
    stray = sorted(n for n in names if n.split("/")[0] in outside)
    if stray:
        problems.append(f"{wheel.name}: files outside the package: {stray[:5]}")
    if "[apache_airflow_provider]" not in entry_points or ENTRY_POINT not in entry_points:
        problems.append(f"{wheel.name}: the apache_airflow_provider entry point is missing")
    for script in SCRIPTS:
        if script not in entry_points:
            problems.append(f"{wheel.name}: the console script {script.split(' = ')[0]} is missing")
    problems += example_problems(wheel, names)
    project = _project()
    expected = {"Name": "airflow-provider-metrika", "Version": version, "License-Expression": "Apache-2.0"}
    expected["Requires-Python"] = str(project["requires-python"])
    for key, value in expected.items():
        if metadata.get(key) != value:
            problems.append(f"{wheel.name}: METADATA {key} is {metadata.get(key)!r}, expected {value!r}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    for extra in ("common-sql", "openlineage"):
        if extra not in extras:
            problems.append(f"{wheel.name}: METADATA lacks the extra {extra!r} (has {sorted(extras)})")
    if metadata.get("Description-Content-Type") != "text/markdown":
        problems.append(f"{wheel.name}: the long description is not Markdown")
    return problems


def sdist_problems(sdist: Path, version: str) -> list[str]:
    """Return what is wrong with the sdist: the license, README, changelog or package missing."""
    root = f"{PACKAGE}-{version}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    needed = (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        f"{PACKAGE}/py.typed",
        "example_dags/example_metrika_dataframe.py",
    )
    return [f"{sdist.name}: {name} is missing" for name in needed if f"{root}/{name}" not in names]


def main() -> int:
    """Check the one wheel and the one sdist in the given folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from airflow_provider_metrika import __version__

    wheels = sorted(args.dist.glob(f"{PACKAGE}-{__version__}-*.whl"))
    sdists = sorted(args.dist.glob(f"{PACKAGE}-{__version__}.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist of {__version__} in {args.dist}", file=sys.stderr)
        return 1
    problems = wheel_problems(wheels[0], __version__) + sdist_problems(sdists[0], __version__)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(
            f"{wheels[0].name} and {sdists[0].name}: metadata, license, py.typed, entry point, "
            "console scripts and example DAGs present"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
