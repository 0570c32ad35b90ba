"""The emulated expenses API, over real HTTP: upload adds, delete by provider or all, statuses, totals."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, TOKEN, auth, csv_bytes, error_of

PREFIX = "/management/v1/counter/{counter}/expense"
SPEND = csv_bytes(
    "Date,UTMSource,UTMCampaign,Expenses,Currency",
    "2024-03-01,vk,spring,100.5,RUB",
    "2024-03-02/2024-03-03,vk,spring,30,",
)


class ExpensesApi:
    """Calls the emulated expenses API the way a client would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + PREFIX.format(counter=COUNTER) + path

    def post(self, path: str, content: bytes, token: str = TOKEN, **params: Any) -> requests.Response:
        return requests.post(
            self.url(path), params=params, headers=auth(token), files={"file": ("e.csv", content)}, timeout=10
        )

    def accepted(self, path: str, content: bytes, **params: Any) -> dict[str, Any]:
        response = self.post(path, content, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["uploading"]
        return body

    def status(self, uploading_id: int) -> dict[str, Any]:
        response = requests.get(self.url(f"/uploading/{uploading_id}"), headers=auth(TOKEN), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["uploading"]
        return body

    def processed(self, uploading_id: int) -> dict[str, Any]:
        statuses = [self.status(uploading_id)["status"] for _ in range(2)]
        assert statuses == ["IN_PROGRESS", "PROCESSED"]
        return self.status(uploading_id)

    def totals(self, date1: str, date2: str, metric: str = "ym:ev:expensesRUB") -> dict[str, float]:
        response = requests.get(
            self.base_url + "/stat/v1/data",
            params={
                "ids": str(COUNTER),
                "metrics": metric,
                "dimensions": "ym:ev:date",
                "date1": date1,
                "date2": date2,
            },
            headers=auth(TOKEN),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return {row["dimensions"][0]["name"]: row["metrics"][0] for row in response.json()["data"]}


@pytest.fixture
def expenses(emulator: EmulatorClient) -> ExpensesApi:
    return ExpensesApi(emulator.base_url)


def _sums(emulator: EmulatorClient) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], float] = {}
    for row in emulator.stored_expenses(COUNTER):
        key = (row["provider"], row["Date"])
        sums[key] = sums.get(key, 0.0) + float(row["Expenses"])
    return sums


def test_an_upload_answers_metrikas_object_and_applies_once_processed(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    uploading = expenses.accepted("/upload", SPEND, provider="crm", comment="run1")
    assert set(uploading) == {"id", "create_time", "source_quantity", "provider", "comment", "type", "status"}
    assert (uploading["provider"], uploading["type"], uploading["status"]) == ("crm", "EXPENSES", "UPLOADED")
    assert uploading["source_quantity"] == 2
    assert emulator.stored_expenses(COUNTER) == []  # not processed yet
    assert expenses.processed(uploading["id"])["comment"] == "run1"
    assert _sums(emulator) == {
        ("crm", "2024-03-01"): 100.5,
        ("crm", "2024-03-02"): 15.0,
        ("crm", "2024-03-03"): 15.0,
    }
    assert expenses.totals("2024-03-01", "2024-03-31") == {
        "2024-03-01": 100.5,
        "2024-03-02": 15.0,
        "2024-03-03": 15.0,
    }


def test_an_upload_without_provider_is_recorded_as_default(expenses: ExpensesApi) -> None:
    assert expenses.accepted("/upload", SPEND)["provider"] == "default"


def test_a_second_upload_adds(expenses: ExpensesApi, emulator: EmulatorClient) -> None:
    for comment in ("a", "b"):
        expenses.processed(expenses.accepted("/upload", SPEND, provider="crm", comment=comment)["id"])
    assert _sums(emulator)[("crm", "2024-03-01")] == 201.0


def test_a_delete_removes_its_providers_rows_on_its_days_only(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    for provider in ("crm", "other"):
        expenses.processed(expenses.accepted("/upload", SPEND, provider=provider)["id"])
    delete = expenses.accepted(
        "/delete", csv_bytes("Date", "2024-03-01", "2024-03-02"), provider="crm", comment="d1"
    )
    assert (delete["type"], delete["provider"]) == ("REMOVES", "crm")
    expenses.processed(delete["id"])
    assert _sums(emulator) == {
        ("crm", "2024-03-03"): 15.0,
        ("other", "2024-03-01"): 100.5,
        ("other", "2024-03-02"): 15.0,
        ("other", "2024-03-03"): 15.0,
    }


def test_a_delete_without_provider_removes_every_providers_rows(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    for provider in ("crm", "other"):
        expenses.processed(expenses.accepted("/upload", SPEND, provider=provider)["id"])
    expenses.processed(expenses.accepted("/delete", csv_bytes("Date", "2024-03-01"))["id"])
    assert {day for _, day in _sums(emulator)} == {"2024-03-02", "2024-03-03"}


def test_a_delete_narrowed_by_utm_keeps_other_campaigns(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    other = csv_bytes("Date,UTMSource,UTMCampaign,Expenses", "2024-03-01,vk,autumn,7")
    expenses.processed(expenses.accepted("/upload", SPEND, provider="crm")["id"])
    expenses.processed(expenses.accepted("/upload", other, provider="crm")["id"])
    narrow = csv_bytes("Date,UTMCampaign", "2024-03-01,spring")
    expenses.processed(expenses.accepted("/delete", narrow, provider="crm")["id"])
    kept = [(row["Date"], row["UTMCampaign"]) for row in emulator.stored_expenses(COUNTER)]
    assert ("2024-03-01", "autumn") in kept
    assert ("2024-03-01", "spring") not in kept


def test_operations_apply_in_the_order_they_are_processed(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    """An upload processed before the delete sent ahead of it is removed by that delete."""
    delete = expenses.accepted("/delete", csv_bytes("Date", "2024-03-01"), provider="crm")
    upload = expenses.accepted("/upload", SPEND, provider="crm")
    expenses.processed(upload["id"])
    expenses.processed(delete["id"])
    assert ("crm", "2024-03-01") not in _sums(emulator)


def test_hold_processing_keeps_an_uploading_uploaded_until_released(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    emulator.configure_expenses(COUNTER, hold_processing=True)
    uploading = expenses.accepted("/upload", SPEND, provider="crm")
    assert [expenses.status(uploading["id"])["status"] for _ in range(3)] == ["UPLOADED"] * 3
    emulator.release()
    assert expenses.processed(uploading["id"])["status"] == "PROCESSED"


def test_uploadings_are_listed_newest_first_with_paging(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    for comment in ("first", "second", "third"):
        expenses.accepted("/upload", SPEND, provider="crm", comment=comment)
    response = requests.get(
        expenses.url("/uploadings"), params={"limit": 2, "offset": 1}, headers=auth(TOKEN), timeout=10
    )
    assert [u["comment"] for u in response.json()["uploadings"]] == ["second", "first"]
    assert [u["comment"] for u in emulator.expenses_uploadings(COUNTER)] == ["third", "second", "first"]


def test_end_to_end_analytics_off_reads_zero(expenses: ExpensesApi, emulator: EmulatorClient) -> None:
    expenses.processed(expenses.accepted("/upload", SPEND, provider="crm")["id"])
    emulator.configure_expenses(COUNTER, end_to_end_analytics=False)
    assert set(expenses.totals("2024-03-01", "2024-03-03").values()) == {0.0}


def test_totals_are_per_currency(expenses: ExpensesApi) -> None:
    usd = csv_bytes("Date,UTMSource,Expenses,Currency", "2024-03-01,vk,5,USD")
    expenses.processed(expenses.accepted("/upload", usd, provider="crm")["id"])
    assert expenses.totals("2024-03-01", "2024-03-01", "ym:ev:expensesUSD") == {"2024-03-01": 5.0}
    assert expenses.totals("2024-03-01", "2024-03-01") == {}


@pytest.mark.parametrize(
    "content",
    [
        csv_bytes("Date,UTMSource,Expenses", "2024-03-01,vk,-1"),
        csv_bytes("Date,UTMSource,Expenses", "2024-03-01,vk,1,5"),
        csv_bytes("Date,Expenses", "2024-03-01,1"),
        csv_bytes("Date,UTMSource,Expenses,Unknown", "2024-03-01,vk,1,x"),
        csv_bytes("Date,UTMSource,Expenses", "2024-03-05/2024-03-01,vk,1"),
        csv_bytes("Date,UTMSource,Expenses"),
    ],
)
def test_bad_files_are_refused_whole(expenses: ExpensesApi, emulator: EmulatorClient, content: bytes) -> None:
    assert error_of(expenses.post("/upload", content, provider="crm")) == (400, "invalid_uploading")
    assert emulator.expenses_uploadings(COUNTER) == []


def test_scopes_expenses_or_write_to_post_read_to_get(
    expenses: ExpensesApi, emulator: EmulatorClient
) -> None:
    emulator.configure(
        tokens={
            TOKEN: None,
            "spend": {"counters": None, "scopes": ["metrika:expenses"]},
            "offline": {"counters": None, "scopes": ["metrika:offline_data"]},
        }
    )
    uploading = expenses.accepted("/upload", SPEND, token="spend", provider="crm")
    assert error_of(expenses.post("/delete", csv_bytes("Date", "2024-03-01"), token="offline")) == (
        403,
        "access_denied",
    )
    response = requests.get(expenses.url(f"/uploading/{uploading['id']}"), headers=auth("spend"), timeout=10)
    assert error_of(response) == (403, "access_denied")


@pytest.mark.parametrize(("target", "path"), [("expenses_upload", "/upload"), ("expenses_delete", "/delete")])
def test_a_lost_answer_after_storing(
    expenses: ExpensesApi, emulator: EmulatorClient, target: str, path: str
) -> None:
    emulator.inject_faults({"target": target, "drop": "after"})
    content = SPEND if path == "/upload" else csv_bytes("Date", "2024-03-01")
    with pytest.raises(requests.ConnectionError):
        expenses.post(path, content, provider="crm", comment="lost")
    assert [u["comment"] for u in emulator.expenses_uploadings(COUNTER)] == ["lost"]


def test_reset_forgets_expenses(expenses: ExpensesApi, emulator: EmulatorClient) -> None:
    expenses.processed(expenses.accepted("/upload", SPEND, provider="crm")["id"])
    emulator.configure_expenses(COUNTER, hold_processing=True)
    emulator.reset()
    assert emulator.stored_expenses(COUNTER) == []
    assert emulator.configure_expenses(COUNTER) == {"hold_processing": False, "end_to_end_analytics": True}
