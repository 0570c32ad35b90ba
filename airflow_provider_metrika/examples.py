"""
Copy the example DAGs shipped in the package into a DAGs folder.

    metrika-examples copy /opt/airflow/dags        # -> /opt/airflow/dags/metrika_examples/
    metrika-examples list
    python -m airflow_provider_metrika.examples copy /opt/airflow/dags

The wheel carries ``example_dags/`` (the DAG files and the CSV files they read) as package data, so
a deployment without a clone of the repository gets them too. They land in a folder of their own
(``metrika_examples``), removed by deleting it. Nothing here imports Airflow.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

#: The folder created in the DAGs folder.
TARGET_NAME = "metrika_examples"
#: Where the wheel puts the examples (package data), and where a clone keeps them.
PACKAGED = Path(__file__).resolve().parent / "example_dags"
CLONE = Path(__file__).resolve().parent.parent / "example_dags"
#: What is copied: the DAG files and the data they read (not ``demo.py``, which runs a clone's demo).
DAG_GLOB = "example_*.py"
DATA_DIR = "data"


def examples_dir() -> Path:
    """Return the folder holding the example DAGs: the installed package's, or a clone's."""
    for folder in (PACKAGED, CLONE):
        if any(folder.glob(DAG_GLOB)):
            return folder
    raise FileNotFoundError(
        f"no example DAGs found in {PACKAGED} (or {CLONE}): reinstall airflow-provider-metrika from its wheel"
    )


def example_files(source: Path) -> list[Path]:
    """Return the files to copy, relative to ``source``: the DAG files, then their data.

    :param source: the examples folder.
    """
    dags = sorted(path.relative_to(source) for path in source.glob(DAG_GLOB))
    data = sorted(path.relative_to(source) for path in (source / DATA_DIR).rglob("*") if path.is_file())
    return dags + data


def copy_examples(dags_folder: Path, force: bool = False) -> Path:
    """Copy the examples into ``dags_folder/metrika_examples``; return that folder.

    :param dags_folder: an existing folder (Airflow's ``[core] dags_folder``).
    :param force: overwrite files a previous copy left there.
    :raises FileNotFoundError: ``dags_folder`` does not exist.
    :raises FileExistsError: an example is already there and ``force`` is not set.
    """
    if not dags_folder.is_dir():
        raise FileNotFoundError(f"{dags_folder} is not a folder: pass your Airflow DAGs folder")
    source = examples_dir()
    target = dags_folder / TARGET_NAME
    files = example_files(source)
    existing = [name for name in files if (target / name).exists()]
    if existing and not force:
        raise FileExistsError(
            f"{target} already holds {len(existing)} of the examples (e.g. {existing[0]}): "
            "pass --force to overwrite them"
        )
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)
    return target


def main(argv: list[str] | None = None) -> int:
    """Run the ``metrika-examples`` command; return its exit code."""
    parser = argparse.ArgumentParser(
        prog="metrika-examples", description="The example DAGs of airflow-provider-metrika."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help=f"copy them into DAGS_FOLDER/{TARGET_NAME}")
    copy.add_argument("dags_folder", type=Path, help="your Airflow DAGs folder ([core] dags_folder)")
    copy.add_argument("--force", action="store_true", help="overwrite an earlier copy")
    commands.add_parser("list", help="list the example files and where they are")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            source = examples_dir()
            print(f"Example DAGs in {source}:")
            for name in example_files(source):
                print(f"  {name}")
            return 0
        target = copy_examples(args.dags_folder, force=args.force)
    except (FileNotFoundError, FileExistsError) as error:
        print(f"metrika-examples: {error}", file=sys.stderr)
        return 1
    dags = sorted(path.stem for path in target.glob(DAG_GLOB))
    print(f"Copied {len(dags)} example DAGs and their data to {target}: {', '.join(dags)}")
    print(
        "They upload with the connection metrika_default (see the provider's docs: connection.md, or "
        "emulator.md to try them against the local emulator)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
