"""
The offline conversions and calls operators' ``execute`` in process, with a task context.

Each test drives the operator try by try as Airflow would, against the emulator over HTTP, and
checks what Metrika stored, what was sent (request counts) and what the task pushed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import (
    MetrikaLinkageFailureError,
    MetrikaRowsDroppedError,
    MetrikaUnknownTargetError,
    MetrikaUploadUncertainError,
    MetrikaWindowNotOpenError,
)
from airflow_provider_metrika.offline_conversions import ConversionsInputError, InvalidConversionsError
from airflow_provider_metrika.operators.offline_conversions import (
    MetrikaCallsUploadOperator,
    MetrikaOfflineConversionsUploadOperator,
)
from tests.conftest import COUNTER
from tests.task_context import TaskContext

NOW = datetime.now(UTC).replace(microsecond=0)
#: An hour ago, as Unix seconds: inside the window, never in the future.
HOUR_AGO = int((NOW - timedelta(hours=1)).timestamp())


def _conversions(n: int = 3, **columns: Any) -> pd.DataFrame:
    frame = {
        "Target": ["dostavka"] * n,
        "DateTime": [HOUR_AGO - i for i in range(n)],
        "ClientId": [f"17000000{i:02d}123456789" for i in range(n)],
        "Price": [100.5 + i for i in range(n)],
        "Currency": ["RUB"] * n,
    }
    frame.update(columns)
    return pd.DataFrame(frame)


def _calls(n: int = 3, **columns: Any) -> pd.DataFrame:
    frame = {
        "DateTime": [HOUR_AGO - i for i in range(n)],
        "ClientId": [f"17000000{i:02d}123456789" for i in range(n)],
        "TalkDuration": [60 + i for i in range(n)],
        "StaticCall": [0] * n,
    }
    frame.update(columns)
    return pd.DataFrame(frame)


def _conversions_operator(data: pd.DataFrame, **kwargs: Any) -> MetrikaOfflineConversionsUploadOperator:
    arguments: dict[str, Any] = {"timezone": "Europe/Moscow", "counter_id": COUNTER, **kwargs}
    return MetrikaOfflineConversionsUploadOperator(task_id="conversions", dataframe=data, **arguments)


def _calls_operator(data: pd.DataFrame, **kwargs: Any) -> MetrikaCallsUploadOperator:
    arguments: dict[str, Any] = {"timezone": "Europe/Moscow", "counter_id": COUNTER, **kwargs}
    return MetrikaCallsUploadOperator(task_id="calls", dataframe=data, **arguments)


def _posts(metrika: EmulatorClient, call: str) -> int:
    return len(
        [
            r
            for r in metrika.api_requests(path_contains=f"offline_conversions/{call}")
            if r["method"] == "POST"
        ]
    )


def test_conversions_are_uploaded_waited_on_and_reported(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    task = TaskContext()
    operator = _conversions_operator(_conversions(), wait_for_processing=True, poll_interval=0.1, timeout=60)

    uploadings = operator.execute(task.context())

    assert [u["status"] for u in uploadings] == ["PROCESSED"]
    stored = metrika.stored_conversions(COUNTER)
    assert len(stored) == 3
    assert {row["writes"] for row in stored} == {1}
    assert task.ti.xcom_pull(key="conversions_report")["rows_written"] == 3
    processing = task.ti.xcom_pull(key="processing")
    assert (processing["rows_sent"], processing["rows_kept"], processing["rows_linked"]) == (3, 3, 3)
    assert task.ti.xcom_pull(key="uploading_ids") == [str(uploadings[0]["id"])]
    comment = metrika.conversions_uploadings(COUNTER)[0]["comment"]
    assert comment.isalnum(), "the tag is letters and digits only"
    assert len(comment) <= 255


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "words"),
    [
        (
            _conversions(DateTime=[int((NOW + timedelta(days=1)).timestamp())] * 3),
            {},
            InvalidConversionsError,
            "row 1, column DateTime",
        ),
        (_conversions(Target=["no_such_goal"] * 3), {}, MetrikaUnknownTargetError, "'no_such_goal' (3 rows)"),
        (_conversions(ClientId=[1.7e18, 1.8e18, 1.9e18]), {}, ConversionsInputError, "ClientId"),
        (_conversions(UserId=["u1", "u2", "u3"]), {}, ConversionsInputError, "client_id_type"),
    ],
    ids=["future-datetime", "unknown-target", "float-mangled-clientid", "two-identifier-types"],
)
def test_bad_conversions_are_refused_with_zero_upload_requests(
    metrika: EmulatorClient,
    metrika_conn_quick: str,
    data: pd.DataFrame,
    kwargs: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=None) as caught:
        _conversions_operator(data, **kwargs).execute(TaskContext().context())
    assert words in str(caught.value)
    assert _posts(metrika, "upload") == 0
    assert metrika.stored_conversions(COUNTER) == []


def test_a_window_not_open_yet_is_refused_with_the_day_it_opens(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    opens = (NOW + timedelta(days=3)).date()
    metrika.configure_offline(COUNTER, visit_join_threshold=opens)
    with pytest.raises(
        MetrikaWindowNotOpenError, match=f"accepts offline conversions from {opens.isoformat()}"
    ):
        _conversions_operator(_conversions()).execute(TaskContext().context())
    assert _posts(metrika, "upload") == 0


def test_an_answer_lost_after_metrika_stored_the_conversions_is_adopted_by_its_comment(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    metrika.inject_faults({"target": "conversions_upload", "status": 503, "after_processing": True})
    task = TaskContext()

    uploadings = _conversions_operator(_conversions()).execute(task.context())

    assert _posts(metrika, "upload") == 1, "found by its comment, not sent again"
    assert [u["comment"] for u in uploadings] == [metrika.conversions_uploadings(COUNTER)[0]["comment"]]
    assert {row["writes"] for row in metrika.stored_conversions(COUNTER)} == {1}


def test_a_retry_adopts_calls_an_earlier_try_sent_and_lost_the_answer_of(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    # The first try's answer is lost after Metrika stored the calls, and its look for them fails too:
    # the try ends with the send unresolved in its records, as a killed worker leaves it.
    metrika.inject_faults(
        {"target": "calls_upload", "status": 503, "after_processing": True, "times": 1},
        # one try's look: the first request and the hook's five retries
        {"target": "calls_uploadings", "status": 500, "times": 6},
    )
    task = TaskContext()
    with pytest.raises(Exception, match="500"):
        _calls_operator(_calls()).execute(task.context())
    assert _posts(metrika, "upload_calls") == 1
    assert metrika.inject_faults() == [], "Metrika answers again"

    uploadings = _calls_operator(_calls()).execute(task.retry())

    assert _posts(metrika, "upload_calls") == 1, "the retry found the upload by its comment"
    assert [u["comment"] for u in uploadings] == [metrika.calls_uploadings(COUNTER)[0]["comment"]]
    assert len(metrika.stored_calls(COUNTER)) == 3, "every call stored once"


def test_calls_whose_lost_answer_is_not_listed_are_never_sent_blindly(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    # The POST fails after the body went out, and Metrika did not store it: the retry cannot tell.
    metrika.inject_faults({"target": "calls_upload", "status": 503, "times": 1})
    task = TaskContext()
    with pytest.raises(MetrikaUploadUncertainError, match="no de-duplication of calls"):
        _calls_operator(_calls()).execute(task.context())
    with pytest.raises(MetrikaUploadUncertainError):
        _calls_operator(_calls()).execute(task.retry())
    assert _posts(metrika, "upload_calls") == 1
    assert metrika.stored_calls(COUNTER) == []


def test_conversions_whose_lost_answer_is_not_listed_are_sent_again_harmlessly(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    metrika.inject_faults({"target": "conversions_upload", "status": 503, "times": 1})
    task = TaskContext()
    uploadings = _conversions_operator(_conversions()).execute(task.context())
    assert len(uploadings) == 1
    assert _posts(metrika, "upload") == 2, "not listed, so sent again: a re-sent conversion overwrites"
    assert {row["writes"] for row in metrika.stored_conversions(COUNTER)} == {1}


def test_rows_metrika_drops_fail_the_task_unless_allowed(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    data = _conversions()
    metrika.configure_offline(COUNTER, dropped_identifiers=[data["ClientId"][0]])
    with pytest.raises(MetrikaRowsDroppedError, match="dropped 1 of 3 rows") as caught:
        _conversions_operator(data).execute(TaskContext().context())
    assert "max_dropped_fraction" in str(caught.value)

    metrika.reset()
    metrika.configure_offline(COUNTER, dropped_identifiers=[data["ClientId"][0]])
    task = TaskContext()
    _conversions_operator(data, max_dropped_fraction=0.5).execute(task.context())
    assert task.ti.xcom_pull(key="processing")["rows_kept"] == 2


def test_linkage_failure_fails_conversions_but_not_static_calls(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    data = _conversions(1)
    metrika.configure_offline(COUNTER, unlinked_identifiers=list(data["ClientId"]))
    waiting = {"wait_for_processing": True, "poll_interval": 0.1, "timeout": 60}
    with pytest.raises(MetrikaLinkageFailureError, match="linked none of their rows"):
        _conversions_operator(data, **waiting).execute(TaskContext().context())

    uploadings = _calls_operator(_calls(2, StaticCall=[1, 1]), **waiting).execute(TaskContext().context())
    assert [u["status"] for u in uploadings] == ["LINKAGE_FAILURE"]


def test_a_file_of_conversions_is_read_streamed_from_storage(
    metrika: EmulatorClient, metrika_conn_quick: str, tmp_path: Path
) -> None:
    source = tmp_path / "conversions.csv"
    _conversions(4).rename(columns={"ClientId": "client_id", "Target": "target"}).to_csv(
        source, sep=";", index=False
    )
    task = TaskContext()
    operator = MetrikaOfflineConversionsUploadOperator(
        task_id="conversions", path=str(source), counter_id=COUNTER, timezone="Europe/Moscow"
    )
    operator.execute(task.context())
    assert len(metrika.stored_conversions(COUNTER)) == 4
    assert task.ti.xcom_pull(key="conversions_report")["client_id_type"] == "CLIENT_ID"


def test_the_sensor_and_the_trigger_wait_on_offline_uploads_by_kind(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    import asyncio

    from airflow_provider_metrika.sensors.uploading import MetrikaUploadingSensor
    from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger

    task = TaskContext()
    uploadings = _conversions_operator(_conversions()).execute(task.context())
    sensor = MetrikaUploadingSensor(
        task_id="wait", uploading_ids=uploadings, kind="offline_conversions", poke_interval=0.1, timeout=30
    )
    done = sensor.execute(TaskContext().context())
    assert [u["status"] for u in done] == ["PROCESSED"]

    trigger = MetrikaUploadingTrigger.from_uploadings(
        counter_id=COUNTER, uploadings=uploadings, poll_interval=0.1, timeout=30, kind="calls"
    )
    classpath, kwargs = trigger.serialize()
    assert kwargs["kind"] == "calls", "a kind other than simplified orders travels in the kwargs"
    orders = MetrikaUploadingTrigger.from_uploadings(
        counter_id=COUNTER, uploadings=["x"], poll_interval=0.1, timeout=30
    )
    assert "kind" not in orders.serialize()[1], "simplified orders' kwargs are as before"

    conversions = MetrikaUploadingTrigger(**{**kwargs, "kind": "offline_conversions"})

    async def first_event() -> dict[str, Any]:
        async for event in conversions.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(first_event())
    assert event["status"] == "success", event
    assert classpath.endswith("MetrikaUploadingTrigger")

    from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

    with pytest.raises(MetrikaInvalidArgumentError, match="an upload of another kind"):
        MetrikaUploadingSensor(task_id="orders_wait", uploading_ids=uploadings)


def test_calls_whose_source_changed_after_they_were_stored_are_not_sent_again(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    from airflow_provider_metrika.exceptions import MetrikaSourceChangedError

    data = _calls()
    metrika.configure_offline(COUNTER, dropped_identifiers=[data["ClientId"][0]])
    task = TaskContext()
    with pytest.raises(MetrikaRowsDroppedError):
        _calls_operator(data).execute(task.context())
    # The export is switched to another identifier, then the task is cleared.
    again = _calls(UserId=["u1", "u2", "u3"]).drop(columns=["ClientId"])
    with pytest.raises(MetrikaSourceChangedError, match="no de-duplication of calls"):
        _calls_operator(again).execute(task.clear())
    assert _posts(metrika, "upload_calls") == 1
    assert len(metrika.stored_calls(COUNTER)) == 2, "the two calls Metrika kept, once each"


def test_a_part_of_static_calls_only_is_not_a_linkage_failure(
    metrika: EmulatorClient, metrika_conn_quick: str
) -> None:
    static, dynamic = _calls(20, StaticCall=[1] * 20), _calls(20)
    dynamic["ClientId"] = [f"27000000{i:02d}123456789" for i in range(20)]
    data = pd.concat([static, dynamic], ignore_index=True)
    waiting = {"wait_for_processing": True, "poll_interval": 0.1, "timeout": 60}
    uploadings = _calls_operator(data, max_part_bytes=768, **waiting).execute(TaskContext().context())
    assert len(uploadings) > 1
    assert "LINKAGE_FAILURE" in {u["status"] for u in uploadings}, "one part holds static calls only"


def test_kinds_without_changed_only_refuse_its_arguments_when_the_dag_is_parsed() -> None:
    from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

    with pytest.raises(
        MetrikaInvalidArgumentError, match="cannot send only what changed; remove changed_only="
    ):
        _conversions_operator(_conversions(), changed_only=True)
