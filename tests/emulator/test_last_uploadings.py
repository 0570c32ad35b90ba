"""GET .../last_uploadings: order, limit, datetime_offset paging and the listing and status delays."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, SAMPLE_CSV, MetrikaApi, csv_bytes, error_of

INVALID_CSV = csv_bytes("id,create_date_time,emails", "o1,yesterday,a@example.com")


def _upload_titled(api: MetrikaApi, *titles: str) -> None:
    for title in titles:
        api.uploading(SAMPLE_CSV, filename=title)


def _sleep_to_next_second() -> None:
    time.sleep(1.02 - (time.time() % 1))


def test_uploadings_are_listed_newest_first_even_within_one_second(api: MetrikaApi) -> None:
    _upload_titled(api, "a.csv", "b.csv", "c.csv", "d.csv")
    assert [u["uploading_title"] for u in api.listed()] == ["d.csv", "c.csv", "b.csv", "a.csv"]


def test_limit_keeps_the_newest(api: MetrikaApi) -> None:
    _upload_titled(api, "a.csv", "b.csv", "c.csv")
    assert [u["uploading_title"] for u in api.listed(limit=2)] == ["c.csv", "b.csv"]


def test_default_limit_is_ten(api: MetrikaApi) -> None:
    _upload_titled(api, *(f"{n}.csv" for n in range(11)))
    listed = api.listed()
    assert len(listed) == 10
    assert listed[-1]["uploading_title"] == "1.csv"


@pytest.mark.parametrize("limit", ["0", "1001", "ten", "-1"])
def test_limit_out_of_range_is_400_invalid_parameter(api: MetrikaApi, limit: str) -> None:
    assert error_of(api.last_uploadings(limit=limit)) == (400, "invalid_parameter")


def test_listed_uploading_is_the_object_the_upload_answered(api: MetrikaApi) -> None:
    answered = api.uploading(INVALID_CSV)
    (listed,) = api.listed(source="API")
    assert listed == answered
    assert listed["api_validation_status"] == "FAILED"
    assert listed["api_validation_errors"]


def test_source_other_than_api_lists_nothing(api: MetrikaApi) -> None:
    api.uploading(SAMPLE_CSV)
    assert api.listed(source="FILE") == []


def test_datetime_offset_pages_back_to_strictly_older_uploadings(api: MetrikaApi) -> None:
    _upload_titled(api, "old.csv")
    _sleep_to_next_second()
    newer = api.uploading(SAMPLE_CSV, filename="new.csv")
    moment = datetime.strptime(newer["datetime"], "%Y-%m-%dT%H:%M:%SZ")
    for offset_format in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        offset = moment.strftime(offset_format)
        assert [u["uploading_title"] for u in api.listed(datetime_offset=offset)] == ["old.csv"], offset
    assert [u["uploading_title"] for u in api.listed(datetime_offset="2000-01-01T00:00:00Z")] == []
    assert len(api.listed(datetime_offset="2999-01-01 00:00:00")) == 2


@pytest.mark.parametrize("offset", ["yesterday", "2024-01-10", "2024-01-10T10:00:00+03:00"])
def test_unreadable_datetime_offset_is_400_invalid_parameter(api: MetrikaApi, offset: str) -> None:
    assert error_of(api.last_uploadings(datetime_offset=offset)) == (400, "invalid_parameter")


def test_listing_delay_hides_a_new_uploading_for_a_while(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(listing_delay=600)
    uploading = api.uploading(SAMPLE_CSV)
    assert api.listed() == []
    assert [u["uploading_id"] for u in emulator.uploadings(COUNTER)] == [uploading["uploading_id"]]
    emulator.configure(listing_delay=0)  # the delay is measured when the list is read
    assert [u["uploading_id"] for u in api.listed()] == [uploading["uploading_id"]]


def test_hold_listing_hides_only_the_uploadings_made_meanwhile_until_released(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    before = api.uploading(SAMPLE_CSV)
    emulator.configure(hold_listing=True)
    held = api.uploading(SAMPLE_CSV)
    emulator.configure(hold_listing=False)
    after = api.uploading(SAMPLE_CSV)

    assert [u["uploading_id"] for u in api.listed()] == [after["uploading_id"], before["uploading_id"]]
    emulator.release()
    assert [u["uploading_id"] for u in api.listed()] == [
        after["uploading_id"],
        held["uploading_id"],
        before["uploading_id"],
    ]


def test_status_delay_shows_in_progress_before_the_final_status(
    api: MetrikaApi, emulator: EmulatorClient
) -> None:
    emulator.configure(status_delay=600)
    api.uploading(INVALID_CSV)
    (pending,) = api.listed()
    assert pending["api_validation_status"] == "IN_PROGRESS"
    assert "api_validation_errors" not in pending
    emulator.configure(status_delay=0)  # measured when the list is read, as the listing delay
    (final,) = api.listed()
    assert final["api_validation_status"] == "FAILED"
    assert final["api_validation_errors"]
