"""The pure waiting logic shared by the sensor, the trigger and the upload operator (no HTTP)."""

from __future__ import annotations

import pytest

from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError
from airflow_provider_metrika.waiting.uploadings import (
    UploadingsWait,
    read_uploading_targets,
    validation_status,
)


def _uploading(
    uploading_id: str, status: str = "PASSED", stamp: str = "2024-01-10T12:00:00Z", **extra: object
):
    return {"uploading_id": uploading_id, "datetime": stamp, "api_validation_status": status, **extra}


def test_targets_keep_order_drop_duplicates_and_take_the_oldest_datetime() -> None:
    targets = read_uploading_targets(
        [
            _uploading("b", stamp="2024-01-10T12:00:05Z"),
            _uploading("a", stamp="2024-01-10T11:59:59Z"),
            _uploading("b", stamp="2024-01-10T12:00:05Z"),
        ]
    )

    assert targets.ids == ("b", "a")
    assert targets.not_before == "2024-01-10T11:59:59Z"


def test_targets_have_no_bound_when_any_id_comes_without_a_datetime() -> None:
    targets = read_uploading_targets([_uploading("a"), "b"])

    assert targets.ids == ("a", "b")
    assert targets.not_before is None


def test_an_unreadable_datetime_only_drops_the_bound() -> None:
    assert read_uploading_targets([_uploading("a", stamp="yesterday")]).not_before is None


def test_a_single_uploading_object_is_accepted() -> None:
    assert read_uploading_targets(_uploading("a")).ids == ("a",)


def test_a_template_rendered_as_json_text_is_read() -> None:
    assert read_uploading_targets('["a", "b"]').ids == ("a", "b")


def test_an_empty_list_text_is_refused() -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="uploading_ids is empty"):
        read_uploading_targets("[]")


@pytest.mark.parametrize("status", ["IN_PROGRESS", "", None, "SOMETHING_NEW"])
def test_any_status_but_passed_and_failed_is_pending(status: str | None) -> None:
    wait = UploadingsWait(12345, ["a"])

    wait.update({"a": {"uploading_id": "a", "api_validation_status": status}})

    assert wait.pending == ["a"]
    assert wait.passed == wait.failed == []


def test_status_reading_ignores_case_and_spaces() -> None:
    assert validation_status({"api_validation_status": " passed "}) == "PASSED"
    assert validation_status(None) is None


def test_search_bound_tightens_once_every_pending_id_was_listed() -> None:
    wait = UploadingsWait(12345, ["a", "b", "c"], not_before=None)
    wait.update({"a": _uploading("a", "IN_PROGRESS", "2024-01-10T12:00:07Z")})
    assert wait.not_before() is None, "b and c were never listed: no bound yet"

    wait.update(
        {
            "b": _uploading("b", "PASSED", "2024-01-10T11:00:00Z"),
            "c": _uploading("c", "IN_PROGRESS", "2024-01-10T12:00:03Z"),
        }
    )

    assert wait.pending == ["a", "c"]
    assert wait.not_before() == "2024-01-10T12:00:03Z", "b passed: only pending ids bound the search"


def test_failure_message_caps_a_long_error_list() -> None:
    errors = [f"row {n}: bad email" for n in range(1, 26)]
    wait = UploadingsWait(12345, ["a"])
    wait.update({"a": _uploading("a", "FAILED", api_validation_errors=errors)})

    message = wait.failure_message()

    assert "row 10: bad email" in message
    assert "row 11: bad email" not in message
    assert "and 15 more" in message


def test_failure_message_says_when_metrika_gave_no_errors() -> None:
    wait = UploadingsWait(12345, ["a"])
    wait.update({"a": _uploading("a", "FAILED")})

    assert "a: Metrika gave no api_validation_errors" in wait.failure_message()


def test_event_has_exactly_the_documented_keys() -> None:
    wait = UploadingsWait(12345, ["a", "b"])
    wait.update({"a": _uploading("a")})

    event = wait.event("timeout", "late")

    assert event == {
        "status": "timeout",
        "message": "late",
        "uploadings": {"a": _uploading("a")},
        "pending": ["b"],
    }
