"""GET /management/v1/counter/{counterId}."""

from __future__ import annotations

from tests.emulator.helpers import COUNTER, OTHER_COUNTER, OTHER_TIME_ZONE, MetrikaApi


def test_counter_answers_its_id_status_and_time_zone(api: MetrikaApi) -> None:
    response = api.counter()
    assert response.status_code == 200
    counter = response.json()["counter"]
    assert counter["id"] == COUNTER
    assert counter["status"] == "Active"
    assert counter["time_zone_name"] == "Europe/Moscow"
    assert counter["name"]
    assert counter["site"]


def test_each_counter_has_its_configured_time_zone(api: MetrikaApi) -> None:
    assert api.counter(counter=OTHER_COUNTER).json()["counter"]["time_zone_name"] == OTHER_TIME_ZONE
