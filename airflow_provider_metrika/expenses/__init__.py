"""Ad expenses core: check them and write Metrika's expenses CSV files, without Airflow.

Use :func:`prepare_expenses` for the upload parts and the file that clears their days, or
:func:`delete_file` for a delete file of given days. Every invalid row is refused before anything is
written, and rows for Yandex Direct are refused (Metrika imports those itself).
"""

from __future__ import annotations

from airflow_provider_metrika.expenses.columns import TRAFFIC_SOURCES
from airflow_provider_metrika.expenses.errors import (
    EmptyExpensesError,
    ExpensesInputError,
    InvalidExpensesError,
)
from airflow_provider_metrika.expenses.prepare import check_date_range, delete_file, prepare_expenses
from airflow_provider_metrika.expenses.report import (
    ExpensesPart,
    ExpensesReport,
    ExpensesWarning,
    PreparedExpenses,
)

__all__ = [
    "TRAFFIC_SOURCES",
    "EmptyExpensesError",
    "ExpensesInputError",
    "ExpensesPart",
    "ExpensesReport",
    "ExpensesWarning",
    "InvalidExpensesError",
    "PreparedExpenses",
    "check_date_range",
    "delete_file",
    "prepare_expenses",
]
