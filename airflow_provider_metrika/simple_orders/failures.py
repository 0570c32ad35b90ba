"""Build the InvalidOrdersError of each way a run can fail: invalid rows, too many rejects, repeated ids."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_metrika.simple_orders.duplicates import DuplicateFindings
from airflow_provider_metrika.simple_orders.errors import RowProblem
from airflow_provider_metrika.simple_orders.masking import mask_value
from airflow_provider_metrika.simple_orders.report import InvalidOrdersError, OrdersReport


def _by_reason(counts: Mapping[str, int]) -> str:
    lines = [f"  {count} x {reason}" for reason, count in sorted(counts.items(), key=lambda item: -item[1])]
    return "Problems by reason:\n" + "\n".join(lines)


def invalid_rows_error(report: OrdersReport) -> InvalidOrdersError:
    """Return the error for ``on_invalid="fail"`` when some rows are invalid.

    :param report: the run's report.
    """
    summary = (
        f"{report.rows_rejected} of {report.rows_read} rows are invalid, so no file was written "
        '(on_invalid="fail"). First problems:'
    )
    hint = (
        f'{_by_reason(report.rejected_by_reason)}\nFix these values at the source, or pass on_invalid="skip" '
        "(with max_invalid_fraction set to the share you accept) to upload the valid rows and get the others "
        "in rejects.csv."
    )
    return InvalidOrdersError(summary, list(report.examples), report, hint)


def too_many_rejects_error(report: OrdersReport, max_fraction: float) -> InvalidOrdersError:
    """Return the error for ``on_invalid="skip"`` when the rejected share exceeds the limit.

    :param report: the run's report.
    :param max_fraction: the allowed share of rejected rows.
    """
    share = report.rows_rejected / report.rows_read
    summary = (
        f"{report.rows_rejected} of {report.rows_read} rows ({share:.2%}) were rejected, more than "
        f"max_invalid_fraction={max_fraction} allows, so no part was kept. Rejected rows with reasons: "
        f"{report.rejects_path}. First problems:"
    )
    hint = f"{_by_reason(report.rejected_by_reason)}\nFix the data, or raise max_invalid_fraction."
    return InvalidOrdersError(summary, list(report.examples), report, hint)


def duplicates_error(findings: DuplicateFindings, report: OrdersReport) -> InvalidOrdersError:
    """Return the error for ``duplicates="error"`` when ids repeat.

    :param findings: the repeated ids.
    :param report: the run's report.
    """
    problems = [
        RowProblem(
            rows[1],
            "id",
            "is repeated in rows " + ", ".join(str(row) for row in rows),
            mask_value(value, "id"),
        )
        for value, rows in findings.examples
    ]
    summary = (
        f"{findings.duplicate_ids} ids appear in more than one row ({findings.extra_rows} extra rows). "
        "Metrika applies rows with the same id in random order, so no file was written. First repeated ids:"
    )
    hint = 'Remove the repeats at the source, or pass duplicates="keep_last" to keep the last row of each id.'
    return InvalidOrdersError(summary, problems, report, hint)
