"""MetrikaHook's expenses methods over real HTTP against the emulator, fed by the expenses core's files."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaConnectionError,
    MetrikaInvalidArgumentError,
    MetrikaServerError,
)
from airflow_provider_metrika.expenses import PreparedExpenses, delete_file, prepare_expenses
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER, SCOPED_TOKENS, connection_json

READ_ONLY = next(token for token, scopes in SCOPED_TOKENS.items() if scopes == ["metrika:read"])
SPEND = pd.DataFrame(
    {
        "Date": ["2024-03-01", "2024-03-02/2024-03-03"],
        "UTMSource": ["vk", "vk"],
        "UTMCampaign": ["spring", "spring"],
        "Expenses": ["100.5", "30"],
    }
)


@pytest.fixture
def hook(metrika_conn: str) -> MetrikaHook:
    return MetrikaHook(metrika_conn)


@pytest.fixture
def prepared(tmp_path: Path) -> PreparedExpenses:
    return prepare_expenses(SPEND, tmp_path / "spend")


def _processed(hook: MetrikaHook, uploading: dict[str, Any]) -> list[str]:
    statuses = [hook.get_expenses_uploading(COUNTER, uploading["id"])["status"] for _ in range(2)]
    assert statuses == ["IN_PROGRESS", "PROCESSED"]
    return statuses


def test_post_expenses_sends_provider_and_comment_and_lands_once_processed(
    hook: MetrikaHook, metrika: EmulatorClient, prepared: PreparedExpenses
) -> None:
    (part,) = prepared.parts
    uploading = hook.post_expenses(COUNTER, part.path, provider="vk_ads_dwh", comment="run1")
    assert (uploading["provider"], uploading["comment"], uploading["type"]) == (
        "vk_ads_dwh",
        "run1",
        "EXPENSES",
    )
    [request] = metrika.api_requests(path_contains="expense/upload")
    assert request["query"] == {"provider": "vk_ads_dwh", "comment": "run1"}
    _processed(hook, uploading)
    totals = hook.get_expense_totals(COUNTER, "2024-03-01", date(2024, 3, 5))
    assert totals == {date(2024, 3, 1): 100.5, date(2024, 3, 2): 15.0, date(2024, 3, 3): 15.0}
    assert {day.isoformat(): value for day, value in totals.items()} == prepared.report.totals


def test_delete_then_upload_replaces_this_providers_days_and_spares_others(
    hook: MetrikaHook, prepared: PreparedExpenses, tmp_path: Path
) -> None:
    (part,) = prepared.parts
    for provider in ("vk_ads_dwh", "other"):
        _processed(
            hook, hook.post_expenses(COUNTER, part.path, provider=provider, comment=f"first{provider[:2]}")
        )
    assert prepared.delete_part is not None
    delete = hook.post_expenses_delete(
        COUNTER, prepared.delete_part.path, provider="vk_ads_dwh", comment="del2"
    )
    assert delete["type"] == "REMOVES"
    _processed(hook, delete)
    changed = prepare_expenses(SPEND.assign(Expenses=["1", "3"]), tmp_path / "changed")
    _processed(hook, hook.post_expenses(COUNTER, changed.parts[0].path, provider="vk_ads_dwh", comment="up2"))
    totals = hook.get_expense_totals(COUNTER, "2024-03-01", "2024-03-03")
    assert totals == {date(2024, 3, 1): 101.5, date(2024, 3, 2): 16.5, date(2024, 3, 3): 16.5}


@pytest.mark.parametrize("provider", ["", "  ", None, " padded"])
def test_a_post_without_a_provider_is_refused_before_sending(
    hook: MetrikaHook, metrika: EmulatorClient, provider: Any, tmp_path: Path
) -> None:
    delete = delete_file(["2024-03-01"], tmp_path)
    with pytest.raises(MetrikaInvalidArgumentError, match="provider"):
        hook.post_expenses_delete(COUNTER, delete.path, provider=provider, comment="d")
    with pytest.raises(MetrikaInvalidArgumentError, match="provider"):
        hook.post_expenses(COUNTER, delete.path, provider=provider, comment="d")
    assert metrika.api_requests() == []


def test_a_bad_comment_is_refused_before_sending(hook: MetrikaHook, metrika: EmulatorClient) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="comment"):
        hook.post_expenses(COUNTER, io.BytesIO(b"Date\n"), provider="p", comment="run-1")
    assert metrika.api_requests() == []


@pytest.mark.parametrize(("target", "delete"), [("expenses_upload", False), ("expenses_delete", True)])
@pytest.mark.parametrize("fault", [{"status": 503, "after_processing": True}, {"drop": "after"}])
def test_a_lost_answer_is_not_sent_again_and_is_found_by_its_comment(
    hook: MetrikaHook,
    metrika: EmulatorClient,
    prepared: PreparedExpenses,
    target: str,
    delete: bool,
    fault: dict[str, object],
) -> None:
    metrika.inject_faults({"target": target, **fault})
    post = hook.post_expenses_delete if delete else hook.post_expenses
    file = prepared.delete_part.path if delete and prepared.delete_part else prepared.parts[0].path
    with pytest.raises((MetrikaServerError, MetrikaConnectionError)):
        post(COUNTER, file, provider="vk_ads_dwh", comment="lost7")
    assert len(metrika.api_requests(path_contains=target.replace("expenses_", "expense/"))) == 1
    found = [u for u in hook.list_expenses_uploadings(COUNTER) if u["comment"] == "lost7"]
    assert len(found) == 1
    assert found[0]["type"] == ("REMOVES" if delete else "EXPENSES")


def test_quota_answers_are_tried_again(
    hook: MetrikaHook, metrika: EmulatorClient, prepared: PreparedExpenses
) -> None:
    metrika.inject_faults({"target": "expenses_upload", "status": 429, "retry_after": "0.1", "times": 2})
    hook.post_expenses(COUNTER, prepared.parts[0].path, provider="p", comment="q")
    assert len(metrika.api_requests(path_contains="expense/upload")) == 3
    assert len(metrika.expenses_uploadings(COUNTER)) == 1


def test_list_pages_newest_first(hook: MetrikaHook, prepared: PreparedExpenses) -> None:
    for comment in ("a", "b", "c"):
        hook.post_expenses(COUNTER, prepared.parts[0].path, provider="p", comment=comment)
    assert [u["comment"] for u in hook.list_expenses_uploadings(COUNTER, limit=2, offset=1)] == ["b", "a"]
    with pytest.raises(MetrikaInvalidArgumentError):
        hook.list_expenses_uploadings(COUNTER, limit=0)


async def test_the_async_twin_reads_one_uploading(
    hook: MetrikaHook, metrika: EmulatorClient, prepared: PreparedExpenses
) -> None:
    uploading = hook.post_expenses(COUNTER, prepared.parts[0].path, provider="p", comment="a")
    metrika.inject_faults({"target": "expenses_uploading", "status": 429, "retry_after": "0.1"})
    read = await hook.aget_expenses_uploading(COUNTER, uploading["id"])
    assert (read["id"], read["status"], read["provider"]) == (uploading["id"], "IN_PROGRESS", "p")
    assert len(metrika.api_requests(path_contains="expense/uploading/")) == 2


def test_totals_read_zero_when_end_to_end_analytics_is_off(
    hook: MetrikaHook, metrika: EmulatorClient, prepared: PreparedExpenses
) -> None:
    _processed(hook, hook.post_expenses(COUNTER, prepared.parts[0].path, provider="p", comment="a"))
    metrika.configure_expenses(COUNTER, end_to_end_analytics=False)
    assert set(hook.get_expense_totals(COUNTER, "2024-03-01", "2024-03-03").values()) == {0.0}
    with pytest.raises(MetrikaInvalidArgumentError, match="after"):
        hook.get_expense_totals(COUNTER, "2024-03-03", "2024-03-01")
    with pytest.raises(MetrikaInvalidArgumentError, match="currency"):
        hook.get_expense_totals(COUNTER, "2024-03-01", "2024-03-01", currency="rub")


def test_access_errors_name_the_expenses_scope(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, prepared: PreparedExpenses
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_SCOPED", connection_json(metrika.base_url, token=READ_ONLY))
    with pytest.raises(MetrikaAccessDeniedError) as caught:
        MetrikaHook("metrika_scoped").post_expenses(
            COUNTER, prepared.parts[0].path, provider="p", comment="a"
        )
    assert "metrika:expenses or metrika:write" in str(caught.value)
