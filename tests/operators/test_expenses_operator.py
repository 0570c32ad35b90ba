"""
The expenses operator's ``execute`` in process, with a task context, against the emulator over HTTP.

Each test checks what Metrika (the emulator) holds afterwards: only this provider's rows on the
days replaced, each once, whatever tries, faults and re-runs happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError, MetrikaUploadingFailedError
from airflow_provider_metrika.expenses import InvalidExpensesError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.operators.expenses import MetrikaExpensesUploadOperator
from tests.conftest import COUNTER
from tests.task_context import TaskContext

DAY, NEXT = "2024-01-09", "2024-01-10"
FAST = {"poll_interval": 0.05, "timeout": 30}


def _spend(amounts: dict[tuple[str, str], float], **columns: Any) -> pd.DataFrame:
    frame = {
        "Date": [day for day, _ in amounts],
        "UTMSource": ["vk" for _ in amounts],
        "UTMCampaign": [campaign for _, campaign in amounts],
        "Expenses": list(amounts.values()),
        "Currency": ["RUB"] * len(amounts),
    }
    frame.update(columns)
    return pd.DataFrame(frame)


def _operator(data: pd.DataFrame | None, **kwargs: Any) -> MetrikaExpensesUploadOperator:
    arguments: dict[str, Any] = {"counter_id": COUNTER, "provider": "vk_ads_dwh", **FAST, **kwargs}
    return MetrikaExpensesUploadOperator(task_id="expenses", dataframe=data, **arguments)


def _held(metrika: EmulatorClient, provider: str = "vk_ads_dwh") -> dict[tuple[str, str], float]:
    rows = [row for row in metrika.stored_expenses(COUNTER) if row["provider"] == provider]
    held: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row["Date"], row.get("UTMCampaign", ""))
        assert key not in held, f"{key} held twice"
        held[key] = float(row["Expenses"])
    return held


def _other_provider(metrika: EmulatorClient, tmp_path: Path) -> None:
    """Another team's expenses on the same day, processed."""
    hook = MetrikaHook("metrika_default")
    path = tmp_path / "other.csv"
    path.write_text(f"Date,UTMSource,Expenses\n{DAY},google,500\n")
    uploading = hook.post_expenses(COUNTER, str(path), provider="google_ads_team", comment="othersteam")
    while hook.get_expenses_uploading(COUNTER, uploading["id"])["status"] != "PROCESSED":
        pass


def _posts(metrika: EmulatorClient) -> int:
    return len(metrika.api_requests(path_contains="/expense/", method="POST"))


def test_two_runs_over_the_same_day_leave_exactly_the_second_runs_rows(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    _other_provider(metrika, tmp_path)
    first = {(DAY, "brand"): 100.0, (DAY, "retarget"): 50.5}
    task = TaskContext()
    operator = _operator(_spend(first))
    operator.execute(task.context())
    task.succeed(operator)
    assert _held(metrika) == first

    second = {(DAY, "brand"): 120.0}  # retarget paused: its row must go
    _operator(_spend(second)).execute(TaskContext().context())

    assert _held(metrika) == second
    assert _held(metrika, "google_ads_team") == {(DAY, ""): 500.0}, "another provider's rows survive"
    report = task.ti.xcom_pull(key="expenses_report")
    assert report["dates"] == [DAY]


def test_a_clear_after_success_leaves_the_same_numbers(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    amounts = {(DAY, "brand"): 100.0, (NEXT, "brand"): 70.0}
    task = TaskContext()
    operator = _operator(_spend(amounts))
    operator.execute(task.context())
    task.succeed(operator)
    _operator(_spend(amounts)).execute(task.clear())
    assert _held(metrika) == amounts


@pytest.mark.parametrize(("target", "posts"), [("expenses_delete", 3), ("expenses_upload", 4)])
def test_a_retry_after_an_answer_lost_on_the_delete_or_the_upload_leaves_the_same_result(
    metrika: EmulatorClient, metrika_conn_quick: str, target: str, posts: int
) -> None:
    amounts = {(DAY, "brand"): 100.0}
    # The answer is lost after Metrika stored the request, and the look for it fails too: the try
    # ends with the send unresolved, as a killed worker leaves it; the retry finds it by its comment.
    metrika.inject_faults(
        {"target": target, "status": 503, "after_processing": True, "times": 1},
        {"target": "expenses_uploadings", "status": 500, "times": 6},
    )
    task = TaskContext()
    with pytest.raises(Exception, match="500"):
        _operator(_spend(amounts)).execute(task.context())
    _operator(_spend(amounts)).execute(task.retry())

    assert _held(metrika) == amounts, "each row held once"
    # The retry settles the first try's requests (found by comment, processed), then replaces again.
    assert _posts(metrika) == posts


def test_a_day_without_spend_in_the_date_range_is_cleared(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    _operator(_spend({(DAY, "brand"): 100.0, (NEXT, "brand"): 70.0})).execute(TaskContext().context())
    _operator(_spend({(DAY, "brand"): 90.0}), date_range=f"{DAY}/{NEXT}").execute(TaskContext().context())
    assert _held(metrika) == {(DAY, "brand"): 90.0}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_spend({(DAY, "brand"): -5.0}), "Expenses"),
        (_spend({(DAY, "brand"): 5.0}, TrafficSource=["nosuchsource"]), "TrafficSource"),
        (_spend({(DAY, "brand"): 5.0}, UTMSource=["yandex"]), "Direct"),
    ],
    ids=["negative", "unknown-traffic-source", "direct-row"],
)
def test_bad_expenses_are_refused_with_zero_requests(
    metrika: EmulatorClient, metrika_conn_quick: str, data: pd.DataFrame, words: str
) -> None:
    with pytest.raises((InvalidExpensesError, ValueError)) as caught:
        _operator(data).execute(TaskContext().context())
    assert words in str(caught.value)
    assert metrika.api_requests(path_contains="/expense/") == []


def test_provider_is_required_and_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="every provider"):
        _operator(_spend({(DAY, "brand"): 1.0}), provider="")


def test_totals_that_stay_zero_say_end_to_end_analytics_looks_switched_off(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    metrika.configure_expenses(COUNTER, end_to_end_analytics=False)
    with pytest.raises(MetrikaUploadingFailedError, match="end-to-end analytics looks switched off"):
        _operator(_spend({(DAY, "brand"): 100.0}), check_totals="error").execute(TaskContext().context())

    metrika.configure_expenses(COUNTER, end_to_end_analytics=True)
    task = TaskContext()
    _operator(_spend({(DAY, "brand"): 100.0}), check_totals="error").execute(task.context())
    assert _held(metrika) == {(DAY, "brand"): 100.0}


def test_an_upload_lost_before_metrika_stored_it_is_replaced_by_the_next_try(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    from airflow_provider_metrika.exceptions import MetrikaReplaceUnsettledError

    _operator(_spend({(DAY, "brand"): 10.0})).execute(TaskContext().context())
    metrika.inject_faults({"target": "expenses_upload", "drop": "before", "times": 1})
    amounts = {(DAY, "brand"): 100.0}
    task = TaskContext()
    with pytest.raises(MetrikaReplaceUnsettledError, match="next try"):
        _operator(_spend(amounts)).execute(task.context())
    assert _held(metrika) == {}, "the delete went; the upload did not"

    _operator(_spend(amounts)).execute(task.retry())

    assert _held(metrika) == amounts


def test_a_source_that_changed_after_the_delete_is_replaced_by_the_next_try(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    from airflow_provider_metrika.exceptions import MetrikaUploadingTimeoutError

    metrika.configure_expenses(COUNTER, hold_processing=True)
    task = TaskContext()
    with pytest.raises(MetrikaUploadingTimeoutError):
        _operator(_spend({(DAY, "brand"): 100.0}), timeout=0.5).execute(task.context())
    metrika.configure_expenses(COUNTER, hold_processing=False)
    metrika.release()
    changed = {(DAY, "brand"): 120.0, (NEXT, "brand"): 5.0}

    _operator(_spend(changed)).execute(task.retry())

    assert _held(metrika) == changed


def test_one_replace_runs_at_a_time_and_templated_ranges_wait_for_rendering() -> None:
    operator = _operator(_spend({(DAY, "brand"): 1.0}), date_range=["{{ ds }}", "{{ ds }}"])
    assert operator.max_active_tis_per_dag == 1


def test_totals_are_not_compared_across_currencies(
    metrika: EmulatorClient, metrika_conn_quick: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = _spend({(DAY, "brand"): 100.0, (DAY, "retarget"): 5.0}, Currency=["", "USD"])
    _operator(data, check_totals="error").execute(TaskContext().context())
    assert _held(metrika) == {(DAY, "brand"): 100.0, (DAY, "retarget"): 5.0}
