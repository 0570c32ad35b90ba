"""The emulator's linking model and its Reports API table: seeded visits, matching rules, Metrika's shape."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from airflow_provider_metrika.emulator.linking import VisitIndex, linked_by_day, parse_visit
from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, TOKEN, MetrikaApi, auth

METRICS = (
    "ym:s:cdpOrdersAllOrders,ym:s:cdpOrdersInProgress,ym:s:cdpOrdersPayed,"
    "ym:s:cdpOrdersCancelled,ym:s:cdpOrdersSpam,ym:s:cdpOrdersOther"
)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _order(**cells: str) -> dict[str, str]:
    return {"create_date_time": "2024-01-22 12:00:00", **cells}


# -- the rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit", "order"),
    [
        ({"client_id": "123456789012345678901"}, {"client_ids": "1,123456789012345678901"}),
        ({"email": " Anna@Example.COM "}, {"emails": "anna@example.com"}),
        ({"email": "anna@example.com"}, {"emails_md5": _md5("anna@example.com")}),
        ({"phone": "+7 (999) 555-11-11"}, {"phones": "79995551111"}),
        ({"phone": "79995551111"}, {"phones_md5": _md5("79995551111")}),
    ],
)
def test_an_order_links_by_any_identifier_raw_or_hashed(visit: dict[str, str], order: dict[str, str]) -> None:
    index = VisitIndex([parse_visit({"time": "2024-01-20 10:00", **visit})])

    assert index.links(_order(**order))


@pytest.mark.parametrize(
    ("visit_time", "created", "links"),
    [
        ("2024-01-01 12:00:00", "2024-01-22 12:00:00", True),  # exactly 21 days before
        ("2024-01-01 11:59:59", "2024-01-22 12:00:00", False),  # a second more
        ("2024-01-22 12:00:01", "2024-01-22 12:00:00", False),  # after the order
        ("2024-01-22 23:00", "2024-01-22", True),  # a date alone means 23:59
        ("2024-01-21 10:00", "22.01.24 08:00", True),
    ],
)
def test_only_a_visit_in_the_21_days_before_the_order_links(
    visit_time: str, created: str, links: bool
) -> None:
    index = VisitIndex([parse_visit({"time": visit_time, "email": "a@example.com"})])

    assert index.links({"create_date_time": created, "emails": "a@example.com"}) is links


def test_other_identifiers_do_not_link() -> None:
    index = VisitIndex(
        [parse_visit({"time": "2024-01-20 10:00", "email": "a@example.com", "phone": "79990001122"})]
    )

    assert not index.links(_order(emails="b@example.com", phones="79990001123", client_ids="5"))
    assert not index.links(_order(emails_md5=_md5("b@example.com")))


def test_linked_orders_count_on_their_creation_date_per_status_spam_apart() -> None:
    visits = [parse_visit({"time": "2024-01-05 10:00", "email": "a@example.com"})]
    orders = [
        {"create_date_time": "2024-01-09 10:00", "emails": "a@example.com", "order_status": ""},
        {"create_date_time": "2024-01-09 11:00", "emails": "a@example.com", "order_status": "SPAM"},
        {"create_date_time": "2024-01-10", "emails": "a@example.com", "order_status": "dostavka"},
        {"create_date_time": "2024-01-10", "emails": "z@example.com", "order_status": "PAID"},
    ]

    days = linked_by_day(orders, visits)

    assert {str(day): dict(counts) for day, counts in days.items()} == {
        "2024-01-09": {"ym:s:cdpOrdersPayed": 1, "ym:s:cdpOrdersAllOrders": 1, "ym:s:cdpOrdersSpam": 1},
        "2024-01-10": {"ym:s:cdpOrdersOther": 1, "ym:s:cdpOrdersAllOrders": 1},
    }


@pytest.mark.parametrize(
    ("visit", "message"),
    [
        ({"time": "2024-01-01 10:00"}, "a visit needs at least one of client_id, email and phone"),
        ({"time": "yesterday", "email": "a@b.ru"}, "visit time 'yesterday' is not"),
        ({"time": "2024-01-01 10:00", "mail": "a@b.ru"}, "unknown visit keys mail"),
    ],
)
def test_bad_visits_are_refused_with_the_reason(visit: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_visit(visit)


# -- over HTTP ------------------------------------------------------------------------------------


def _stat(emulator: EmulatorClient, token: str = TOKEN, **params: Any) -> requests.Response:
    query = {"ids": str(COUNTER), "metrics": METRICS, "dimensions": "ym:s:date", **params}
    return requests.get(f"{emulator.base_url}/stat/v1/data", params=query, headers=auth(token), timeout=10)


@pytest.fixture
def seeded(emulator: EmulatorClient, api: MetrikaApi) -> EmulatorClient:
    csv = (
        b"id,create_date_time,emails,phones,order_status\n"
        b"a,2024-01-09 10:00,a@example.com,,PAID\n"
        b",2024-01-09 11:00,,79995551111,IN_PROGRESS\n"
        b"c,2024-01-10 12:00,c@example.com,,CANCELLED\n"
        b"d,2024-01-10 13:00,nobody@example.com,,PAID\n"
    )
    assert api.upload(csv).json()["uploading"]["api_validation_status"] == "PASSED"
    assert (
        emulator.seed_visits(
            [
                {"time": "2024-01-08 09:00", "email": "a@example.com"},
                {"time": "2024-01-09 09:00", "phone": "+7 999 555 11 11"},
                {"time": "2024-01-10 09:00", "email": "C@example.com"},
            ],
            counter_id=COUNTER,
        )
        == 3
    )
    return emulator


def test_the_table_has_metrikas_shape_by_day_and_in_total(seeded: EmulatorClient) -> None:
    response = _stat(seeded, date1="2024-01-09", date2="2024-01-10", accuracy="full")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == [
        {"dimensions": [{"name": "2024-01-09"}], "metrics": [2.0, 1.0, 1.0, 0.0, 0.0, 0.0]},
        {"dimensions": [{"name": "2024-01-10"}], "metrics": [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]},
    ]
    assert body["totals"] == [3.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert (body["total_rows"], body["sampled"], body["sample_share"], body["data_lag"]) == (2, False, 1.0, 0)
    assert body["query"]["metrics"] == METRICS.split(",")
    assert (body["query"]["date1"], body["query"]["date2"], body["query"]["ids"]) == (
        "2024-01-09",
        "2024-01-10",
        [COUNTER],
    )


def test_without_dimensions_one_row_holds_the_totals(seeded: EmulatorClient) -> None:
    body = _stat(seeded, dimensions="", date1="2024-01-01", date2="2024-01-31").json()

    assert body["data"] == [{"dimensions": [], "metrics": body["totals"]}]
    assert body["totals"][0] == 3.0


def test_limit_and_offset_page_the_rows(seeded: EmulatorClient) -> None:
    first = _stat(seeded, date1="2024-01-08", date2="2024-01-10", limit=2).json()
    second = _stat(seeded, date1="2024-01-08", date2="2024-01-10", limit=2, offset=3).json()

    assert [row["dimensions"][0]["name"] for row in first["data"]] == ["2024-01-08", "2024-01-09"]
    assert [row["dimensions"][0]["name"] for row in second["data"]] == ["2024-01-10"]
    assert first["total_rows"] == second["total_rows"] == 3


def test_reset_forgets_visits(seeded: EmulatorClient) -> None:
    assert len(seeded.visits(COUNTER)) == 3
    seeded.reset()

    assert seeded.visits(COUNTER) == []


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({"ids": ""}, 400, "Required parameter ids is missing"),
        ({"metrics": "ym:s:visits"}, 400, "Unknown metrics ym:s:visits"),
        ({"dimensions": "ym:s:browser"}, 400, "Unsupported dimensions ym:s:browser"),
        ({"date1": "2024-02-01", "date2": "2024-01-01"}, 400, "date1 2024-02-01 is after date2"),
        ({"date1": "01.02.2024"}, 400, "is not YYYY-MM-DD, today, yesterday or NdaysAgo"),
        ({"limit": "0"}, 400, "limit must be an integer from 1 to 100000"),
        ({"filters": "ym:s:date=='2024-01-01'"}, 400, "filters are not modelled"),
        ({"ids": "555"}, 404, "Counter 555 not found"),
    ],
)
def test_bad_queries_get_metrikas_error_body(
    emulator: EmulatorClient, params: dict[str, str], status: int, text: str
) -> None:
    response = _stat(emulator, **params)

    assert response.status_code == status
    assert text in response.json()["message"]


def test_relative_dates_default_to_the_last_week(emulator: EmulatorClient) -> None:
    body = _stat(emulator, date1="6daysAgo").json()

    assert body["query"]["date1"] <= body["query"]["date2"]


def test_the_reports_api_needs_metrika_read(emulator: EmulatorClient) -> None:
    emulator.configure(
        tokens={
            "upload": {"counters": None, "scopes": ["metrika:offline_data", "metrika:write"]},
            "read": {"counters": None, "scopes": ["metrika:read"]},
        }
    )

    denied = _stat(emulator, token="upload")
    allowed = _stat(emulator, token="read")

    assert (denied.status_code, denied.json()["errors"][0]["error_type"]) == (403, "access_denied")
    assert denied.json()["message"] == "Access is denied"
    assert allowed.status_code == 200
