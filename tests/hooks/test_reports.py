"""MetrikaHook's Reports API read (linked CRM orders), sync and async, over HTTP against the emulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaBadRequestError,
    MetrikaError,
    MetrikaInvalidArgumentError,
    MetrikaNotFoundError,
)
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.hooks.reports import LinkedCounts, LinkedOrdersQuery
from tests.conftest import COUNTER, connection_json

ORDERS = (
    "id,create_date_time,emails,order_status\n"
    "a,2024-01-09 10:00,a@example.com,PAID\n"
    "b,2024-01-09 11:00,b@example.com,SPAM\n"
    "c,2024-01-10 12:00,c@example.com,IN_PROGRESS\n"
    "d,2024-01-11,d@example.com,dostavka\n"
    "e,2024-01-12 09:00,e@example.com,CANCELLED\n"
)


@pytest.fixture
def linked(metrika: EmulatorClient, metrika_conn: str, tmp_path: Path) -> MetrikaHook:
    """Upload five orders over four days; seed visits for all of them."""
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    hook = MetrikaHook(metrika_conn)
    upload_simple_orders(hook, COUNTER, path)
    metrika.seed_visits(
        [{"time": "2024-01-08 09:00", "email": f"{name}@example.com"} for name in "abcde"], counter_id=COUNTER
    )
    return hook


def test_linked_orders_come_by_day_and_status_with_the_query_metrika_documents(
    linked: MetrikaHook, metrika: EmulatorClient
) -> None:
    answer = linked.get_linked_orders(COUNTER, "2024-01-09", dt.date(2024, 1, 12))

    assert answer.days == {
        "2024-01-09": LinkedCounts(orders=1, paid=1, spam=1),
        "2024-01-10": LinkedCounts(orders=1, in_progress=1),
        "2024-01-11": LinkedCounts(orders=1, other=1),
        "2024-01-12": LinkedCounts(orders=1, cancelled=1),
    }
    assert answer.totals == LinkedCounts(orders=4, in_progress=1, paid=1, cancelled=1, spam=1, other=1)
    assert (answer.sampled, answer.sample_share, answer.data_lag) == (False, 1.0, 0.0)
    [request] = metrika.api_requests(path_contains="/stat/v1/data")
    assert request["path"] == "/stat/v1/data"
    assert request["query"] == {
        "ids": str(COUNTER),
        "metrics": "ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersInProgress,ym:s:cdpOrdersPayed,"
        "ym:s:cdpOrdersCancelled,ym:s:cdpOrdersSpam,ym:s:cdpOrdersOther",
        "dimensions": "ym:s:date",
        "date1": "2024-01-09",
        "date2": "2024-01-12",
        "accuracy": "full",
        "limit": "1000",
        "offset": "1",
    }


def test_a_day_with_visits_only_reads_zero_and_a_day_not_listed_too(linked: MetrikaHook) -> None:
    answer = linked.get_linked_orders(COUNTER, "2024-01-08", "2024-01-08")

    assert answer.days == {"2024-01-08": LinkedCounts()}
    assert answer.day("2024-01-13") == LinkedCounts()


def test_pages_are_read_while_total_rows_says_more_follow(
    linked: MetrikaHook, metrika: EmulatorClient
) -> None:
    answer = linked.get_linked_orders(COUNTER, "2024-01-09", "2024-01-12", page_size=3)

    assert list(answer.days) == ["2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12"]
    offsets = [r["query"]["offset"] for r in metrika.api_requests(path_contains="/stat/")]
    assert offsets == ["1", "4"]


async def test_the_async_twin_reads_the_same_pages(linked: MetrikaHook, metrika: EmulatorClient) -> None:
    sync = linked.get_linked_orders(COUNTER, "2024-01-09", "2024-01-12")
    answer = await linked.aget_linked_orders(COUNTER, "2024-01-09", "2024-01-12", page_size=1)

    assert answer == sync
    assert len(metrika.api_requests(path_contains="/stat/")) == 1 + 4


def test_quota_answers_are_retried(linked: MetrikaHook, metrika: EmulatorClient) -> None:
    metrika.inject_faults({"target": "reports", "status": 429, "times": 2, "retry_after": "0.05"})

    answer = linked.get_linked_orders(COUNTER, "2024-01-09", "2024-01-09")

    assert answer.day("2024-01-09").orders == 1
    assert len(metrika.api_requests(path_contains="/stat/")) == 3


async def test_async_quota_answers_are_retried(linked: MetrikaHook, metrika: EmulatorClient) -> None:
    metrika.inject_faults({"target": "reports", "status": 503, "times": 1})

    answer = await linked.aget_linked_orders(COUNTER, "2024-01-09", "2024-01-09")

    assert answer.day("2024-01-09").orders == 1


def test_a_bad_request_is_not_retried(linked: MetrikaHook, metrika: EmulatorClient) -> None:
    metrika.inject_faults({"target": "reports", "status": 400, "error_type": "invalid_parameter"})

    with pytest.raises(MetrikaBadRequestError):
        linked.get_linked_orders(COUNTER, "2024-01-09", "2024-01-09")
    assert len(metrika.api_requests(path_contains="/stat/")) == 1


def test_an_unknown_counter_is_a_404(metrika_conn: str) -> None:
    with pytest.raises(MetrikaNotFoundError):
        MetrikaHook(metrika_conn).get_linked_orders(99999, "2024-01-09", "2024-01-09")


@pytest.mark.parametrize("token", ["tok-UPLOADONLY-0a1b", "tok-WRITEONLY-2c3d"])
def test_a_403_names_metrika_read_the_counter_and_the_connection(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_METRIKA_NOREAD", connection_json(metrika.base_url, token, retry_limit=0))

    with pytest.raises(MetrikaAccessDeniedError) as raised:
        MetrikaHook("metrika_noread").get_linked_orders(COUNTER, "2024-01-09", "2024-01-09")

    message = str(raised.value)
    assert "Connection 'metrika_noread': Metrika refused the request to read linked CRM orders" in message
    assert f"on counter {COUNTER} (403)" in message
    assert "1. the token lacks metrika:read" in message
    assert token not in message


async def test_an_async_403_names_metrika_read(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_NOREAD", connection_json(metrika.base_url, "tok-UPLOADONLY-0a1b", retry_limit=0)
    )

    with pytest.raises(MetrikaAccessDeniedError, match=r"1\. the token lacks metrika:read"):
        await MetrikaHook("metrika_noread").aget_linked_orders(COUNTER, "2024-01-09", "2024-01-09")


@pytest.mark.parametrize(
    ("date1", "date2", "message"),
    [
        ("09.01.2024", "2024-01-09", "date1 must be a date or 'YYYY-MM-DD' text; got '09.01.2024'"),
        ("2024-01-10", "2024-01-09", "date1 2024-01-10 is after date2 2024-01-09"),
    ],
)
def test_bad_dates_are_refused_before_any_request(
    metrika: EmulatorClient, metrika_conn: str, date1: str, date2: str, message: str
) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=message):
        MetrikaHook(metrika_conn).get_linked_orders(COUNTER, date1, date2)
    assert metrika.api_requests() == []


def test_answers_metrika_may_give_are_read_and_broken_ones_named() -> None:
    query = LinkedOrdersQuery(COUNTER, "2024-01-09", "2024-01-09")
    query.feed(
        {
            "data": [
                {
                    "dimensions": [{"name": "2024-01-09", "id": "2024-01-09"}],
                    "metrics": [2.0, None, 1.9, 0, 0, 0],
                }
            ],
            "totals": [2.0, 0, 2, 0, 0, 0],
            "total_rows": 1,
        }
    )
    assert query.next_params() is None
    assert query.result().day("2024-01-09") == LinkedCounts(orders=2, paid=2)

    broken = LinkedOrdersQuery(COUNTER, "2024-01-09", "2024-01-09")
    with pytest.raises(MetrikaError, match="Reports API answer has no 'data' list"):
        broken.feed({"errors": []})
    with pytest.raises(MetrikaError, match="not 6 values"):
        broken.feed({"data": [{"dimensions": [{"name": "2024-01-09"}], "metrics": [1]}]})
