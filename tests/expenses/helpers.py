"""Helpers shared by the expenses core tests: run the core and read its files back."""

from __future__ import annotations

import csv
from pathlib import Path

from airflow_provider_metrika.expenses import ExpensesPart, PreparedExpenses


def rows(part: ExpensesPart) -> list[dict[str, str]]:
    """Return a part's rows as dicts, column -> text.

    :param part: a part or delete file.
    """
    with open(part.path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def column(result: PreparedExpenses, name: str) -> list[str]:
    """Return one column of every part, in order.

    :param result: a run's result.
    :param name: the Metrika column.
    """
    return [row[name] for part in result.parts for row in rows(part)]


def leftovers(directory: Path) -> list[str]:
    """Return the files a run left in its workdir.

    :param directory: the workdir.
    """
    return sorted(path.name for path in directory.glob("*")) if directory.exists() else []
