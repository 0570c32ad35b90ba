"""POST .../data/simple_orders: parameters, body, validation answers and what gets stored."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, OTHER_COUNTER, SAMPLE_CSV, MetrikaApi, auth, csv_bytes, error_of

UPLOAD_URL = "/cdp/api/v1/counter/{counter}/data/simple_orders"


@pytest.mark.parametrize(
    ("params", "status", "error_type", "named"),
    [
        ({}, 400, "missing_parameter", "merge_mode"),
        ({"merge_mode": "save"}, 400, "invalid_parameter", "SAVE, UPDATE, APPEND"),
        ({"merge_mode": "REPLACE"}, 400, "invalid_parameter", "SAVE, UPDATE, APPEND"),
        ({"merge_mode": "SAVE", "delimiter_type": "TAB"}, 400, "invalid_parameter", "COMMA, SEMICOLON"),
    ],
)
def test_bad_upload_parameters_are_400_naming_allowed_values(
    api: MetrikaApi,
    emulator: EmulatorClient,
    params: dict[str, str],
    status: int,
    error_type: str,
    named: str,
) -> None:
    response = api.upload(
        SAMPLE_CSV, merge_mode=params.get("merge_mode"), delimiter_type=params.get("delimiter_type")
    )
    assert error_of(response) == (status, error_type)
    assert named in response.json()["errors"][0]["message"]
    assert emulator.orders(COUNTER)["orders"] == {}


def test_official_sample_passes_and_answers_the_documented_uploading(api: MetrikaApi) -> None:
    uploading = api.uploading(SAMPLE_CSV, merge_mode="SAVE", delimiter_type="COMMA")
    assert uploading["api_validation_status"] == "PASSED"
    assert uploading["elements_count"] == 3
    assert uploading["entity_type"] == "SYSTEM"
    assert uploading["uploading_format"] == "CSV"
    assert uploading["uploading_source"] == "API"
    assert uploading["uploading_title"] == "data.csv"
    assert uuid.UUID(uploading["uploading_id"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", uploading["datetime"])
    assert "api_validation_errors" not in uploading


def test_official_sample_is_stored_with_its_row_without_id(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(SAMPLE_CSV)
    stored = emulator.orders(COUNTER)
    assert set(stored["orders"]) == {"s_ord1", "s_ord2"}
    first = stored["orders"]["s_ord1"]
    assert first["create_date_time"] == "10.01.2024 11:56"
    assert first["emails"] == "mail@example.com,mail2@example.com"
    assert first["goals"] == "oplata_cash:200,filial_1"
    assert first["client_ids"] == ""
    assert stored["orders"]["s_ord2"]["client_ids"] == "12345"
    assert stored["orders"]["s_ord2"]["currency"] == "EUR"
    (without_id,) = stored["orders_without_id"]
    assert without_id["phones"] == "79876543210"
    assert without_id["order_status"] == "SPAM"
    assert without_id["goals"] == "plohoy_lead"
    assert stored["applied_counts"] == {"s_ord1": 1, "s_ord2": 1}


def test_semicolon_file_passes_with_delimiter_type_semicolon(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    content = csv_bytes(
        "id;create_date_time;emails;revenue", 'o1;10.01.2024;"a@example.com,b@example.com";1.5'
    )
    uploading = api.uploading(content, delimiter_type="SEMICOLON")
    assert uploading["api_validation_status"] == "PASSED"
    assert emulator.orders(COUNTER)["orders"]["o1"]["emails"] == "a@example.com,b@example.com"


def test_semicolon_file_sent_as_comma_fails(api: MetrikaApi, emulator: EmulatorClient) -> None:
    content = csv_bytes("id;create_date_time;emails", "o1;10.01.2024;a@example.com")
    uploading = api.uploading(content, delimiter_type="COMMA")
    assert uploading["api_validation_status"] == "FAILED"
    assert any("unknown columns: id;create_date_time;emails" in e for e in uploading["api_validation_errors"])
    assert emulator.orders(COUNTER)["orders"] == {}


def test_invalid_file_fails_naming_row_and_column_and_stores_nothing(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    content = csv_bytes(
        "id,create_date_time,emails,phones,order_status,revenue,currency",
        "good,10.01.2024,a@example.com,,PAID,100,",
        "bad1,2024-01-10T10:00:00,X@example.com,,PAID,100,",
        "bad2,10.01.2024,,+7 999,WRONG-STATUS,1e3,rub",
        "bad3,10.01.2024,,,,,",
    )
    uploading = api.uploading(content)
    assert uploading["api_validation_status"] == "FAILED"
    assert uploading["elements_count"] == 4
    errors = uploading["api_validation_errors"]
    assert errors == [
        'row 3, column create_date_time: "2024-01-10T10:00:00" uses the ISO "T" separator; '
        "write a space between date and time",
        'row 3, column emails: "X@example.com" is not a valid email (lowercase, must contain @ and a domain)',
        'row 4, column phones: "+7 999" is not a valid phone (digits only with country code, 7 to 15 digits)',
        'row 4, column order_status: "WRONG-STATUS" is not an order status '
        "(PAID, IN_PROGRESS, CANCELLED, SPAM or a goal id of letters, digits and _)",
        'row 4, column revenue: "1e3" is not a non-negative plain decimal '
        "(digits with an optional . fraction)",
        'row 4, column currency: "rub" is not a currency code (3 uppercase letters)',
        "row 5: no identifier; fill at least one of client_ids, emails, phones, emails_md5, phones_md5",
    ]
    stored = emulator.orders(COUNTER)
    assert stored == {"orders": {}, "orders_without_id": [], "applied_counts": {}}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            csv_bytes("id,create_date_time,emails,extra", "1,10.01.2024,a@example.com,x"),
            "unknown columns: extra",
        ),
        (csv_bytes("id,emails", "1,a@example.com"), "required column create_date_time is missing"),
        (csv_bytes("id,create_date_time,revenue", "1,10.01.2024,5"), "no identifier column"),
        (
            csv_bytes("id,create_date_time,emails", "1,10.01.2024,a@example.com,extra"),
            "expected 3 fields, found 4",
        ),
        (csv_bytes("id,create_date_time,emails", '1,10.01.2024,"a@example.com'), "malformed CSV"),
        ("id,create_date_time,emails\n1,10.01.2024,ж@example.com\n".encode("cp1251"), "not UTF-8"),
        (b"", "header row is required"),
    ],
)
def test_file_level_problems_fail(
    api: MetrikaApi, emulator: EmulatorClient, content: bytes, expected: str
) -> None:
    uploading = api.uploading(content)
    assert uploading["api_validation_status"] == "FAILED"
    assert any(expected in error for error in uploading["api_validation_errors"])
    assert emulator.orders(COUNTER)["orders"] == {}


def test_body_without_file_part_is_400_invalid_uploading(emulator: EmulatorClient) -> None:
    response = requests.post(
        emulator.base_url + UPLOAD_URL.format(counter=COUNTER),
        params={"merge_mode": "SAVE"},
        headers=auth(),
        files={"data": ("data.csv", SAMPLE_CSV, "text/csv")},
        timeout=10,
    )
    assert error_of(response) == (400, "invalid_uploading")
    assert emulator.uploadings(COUNTER) == []


def test_non_multipart_body_is_400_invalid_uploading(emulator: EmulatorClient) -> None:
    response = requests.post(
        emulator.base_url + UPLOAD_URL.format(counter=COUNTER),
        params={"merge_mode": "SAVE"},
        headers={**auth(), "Content-Type": "text/csv"},
        data=SAMPLE_CSV,
        timeout=10,
    )
    assert error_of(response) == (400, "invalid_uploading")


def test_file_over_the_size_limit_is_400_limit_exceeded(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(max_file_bytes=len(SAMPLE_CSV) - 1)
    response = api.upload(SAMPLE_CSV)
    assert error_of(response) == (400, "limit_exceeded")
    assert emulator.uploadings(COUNTER) == []
    assert emulator.orders(COUNTER)["orders"] == {}


def test_file_exactly_at_the_size_limit_is_accepted(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(max_file_bytes=len(SAMPLE_CSV))
    assert api.uploading(SAMPLE_CSV)["api_validation_status"] == "PASSED"


def test_content_length_far_over_the_limit_is_rejected_before_reading(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(max_file_bytes=10)
    response = api.upload(b"x" * 2_000_000)
    assert error_of(response) == (400, "limit_exceeded")
    (logged,) = emulator.api_requests(path_contains="simple_orders")
    assert logged["multipart"] == []


def test_save_replaces_the_whole_order(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(
        csv_bytes("id,create_date_time,emails,revenue,currency", "o1,10.01.2024,a@example.com,100,EUR")
    )
    api.uploading(csv_bytes("id,create_date_time,phones", "o1,10.01.2024,79995551111"), merge_mode="SAVE")
    order = emulator.orders(COUNTER)["orders"]["o1"]
    assert order["phones"] == "79995551111"
    assert order["emails"] == ""
    assert order["revenue"] == ""
    assert order["currency"] == ""


def test_update_overwrites_only_the_columns_sent(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(
        csv_bytes("id,create_date_time,emails,revenue,currency", "o1,10.01.2024,a@example.com,100,EUR")
    )
    api.uploading(
        csv_bytes("id,create_date_time,phones,revenue", "o1,10.01.2024,79995551111,250"), merge_mode="UPDATE"
    )
    order = emulator.orders(COUNTER)["orders"]["o1"]
    assert order["emails"] == "a@example.com"
    assert order["currency"] == "EUR"
    assert order["phones"] == "79995551111"
    assert order["revenue"] == "250"


def test_append_adds_list_values_once_and_overwrites_other_columns(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    api.uploading(
        csv_bytes("id,create_date_time,emails,goals,revenue", 'o1,10.01.2024,a@example.com,"g1,g2:5",100')
    )
    api.uploading(
        csv_bytes(
            "id,create_date_time,emails,goals,revenue",
            'o1,10.01.2024,"b@example.com,a@example.com",g3,300',
        ),
        merge_mode="APPEND",
    )
    order = emulator.orders(COUNTER)["orders"]["o1"]
    assert order["emails"] == "a@example.com,b@example.com"
    assert order["goals"] == "g1,g2:5,g3"
    assert order["revenue"] == "300"


@pytest.mark.parametrize("merge_mode", ["SAVE", "UPDATE", "APPEND"])
def test_create_date_time_is_kept_from_the_first_send(
    api: MetrikaApi, emulator: EmulatorClient, merge_mode: str
) -> None:
    api.uploading(csv_bytes("id,create_date_time,emails", "o1,10.01.2024 11:56,a@example.com"))
    api.uploading(
        csv_bytes("id,create_date_time,emails", "o1,2024-03-01,b@example.com"), merge_mode=merge_mode
    )
    stored = emulator.orders(COUNTER)
    assert stored["orders"]["o1"]["create_date_time"] == "10.01.2024 11:56"
    assert stored["applied_counts"] == {"o1": 2}


def test_rows_without_id_are_never_merged(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(SAMPLE_CSV)
    api.uploading(SAMPLE_CSV)
    stored = emulator.orders(COUNTER)
    assert len(stored["orders_without_id"]) == 2
    assert stored["applied_counts"] == {"s_ord1": 2, "s_ord2": 2}


def test_duplicate_ids_in_one_file_apply_in_file_order_and_are_counted(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    content = csv_bytes(
        "id,create_date_time,revenue,emails", "o1,10.01.2024,1,a@example.com", "o1,10.01.2024,2,a@example.com"
    )
    assert api.uploading(content)["api_validation_status"] == "PASSED"
    stored = emulator.orders(COUNTER)
    assert stored["orders"]["o1"]["revenue"] == "2"
    assert stored["applied_counts"] == {"o1": 2}
    assert emulator.uploadings(COUNTER)[0]["details"]["duplicate_ids"] == 1


def test_orders_are_kept_per_counter(api: MetrikaApi, emulator: EmulatorClient) -> None:
    api.uploading(SAMPLE_CSV, counter=OTHER_COUNTER)
    assert emulator.orders(COUNTER)["orders"] == {}
    assert set(emulator.orders(OTHER_COUNTER)["orders"]) == {"s_ord1", "s_ord2"}
