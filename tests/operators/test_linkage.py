"""MetrikaLinkageCheckOperator in-process: real uploads to the emulator, a task context with their XComs."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaAccessDeniedError, MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.links import COUNTER_ID_XCOM_KEY
from airflow_provider_metrika.operators.linkage import MetrikaLinkageCheckOperator, MetrikaLinkageError
from airflow_provider_metrika.simple_orders import prepare_simple_orders
from airflow_provider_metrika.simple_orders.sync_state import Destination, SyncState, read_sent
from airflow_provider_metrika.triggers.settle import MetrikaSettleTrigger
from tests.conftest import COUNTER, COUNTER_TIMEZONE, connection_json

UPLOAD = "upload_orders"
DAY = "2024-01-09"


class TaskInstance:
    """The part of a running task instance the check uses: its map index and XComs of this run."""

    def __init__(self, xcoms: dict[tuple[str, str, int], Any], map_index: int = -1) -> None:
        self.xcoms = xcoms
        self.map_index = map_index
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str, key: str = "return_value", map_indexes: int | None = None) -> Any:
        found = {
            index: value
            for (task, name, index), value in self.xcoms.items()
            if task == task_ids and name == key and (map_indexes is None or index == map_indexes)
        }
        if not found:
            return None
        return next(iter(found.values())) if len(found) == 1 else list(found.values())

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _context(ti: TaskInstance) -> Any:
    """Return the task context the check reads: its task instance."""
    return {"ti": ti}


def _orders_csv(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Write ``id,create_date_time,emails,order_status`` rows."""
    path = tmp_path / f"orders-{time.monotonic_ns()}.csv"
    path.write_text("id,create_date_time,emails,order_status\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def _upload(
    tmp_path: Path, rows: list[tuple[str, str, str, str]], map_index: int = -1, **options: Any
) -> dict[tuple[str, str, int], Any]:
    """Prepare and upload orders as the upload task does; return the XComs it would push."""
    out = tmp_path / f"parts-{time.monotonic_ns()}"
    out.mkdir()
    prepared = prepare_simple_orders(_orders_csv(tmp_path, rows), out, timezone=COUNTER_TIMEZONE, **options)
    hook = MetrikaHook()
    uploadings = [upload_simple_orders(hook, COUNTER, part.path) for part in prepared.parts]
    # Through JSON, as XCom stores them.
    return {
        (UPLOAD, "orders_report", map_index): json.loads(json.dumps(prepared.report.to_dict())),
        (UPLOAD, "return_value", map_index): uploadings,
        (UPLOAD, COUNTER_ID_XCOM_KEY, map_index): COUNTER,
    }


def _orders(
    count: int, day: str = DAY, status: str = "PAID", prefix: str = "o"
) -> list[tuple[str, str, str, str]]:
    return [(f"{prefix}{n}", f"{day} 12:00:00", f"{prefix}{n}@example.com", status) for n in range(count)]


def _visits(metrika: EmulatorClient, emails: list[str], when: str = f"{DAY} 09:00") -> None:
    metrika.seed_visits([{"time": when, "email": email} for email in emails], counter_id=COUNTER)


def _check(xcoms: dict[tuple[str, str, int], Any], map_index: int = -1, **kwargs: Any) -> dict[str, Any]:
    operator = MetrikaLinkageCheckOperator(
        task_id="check", upload_task_id=UPLOAD, settle_seconds=0, deferrable=False, **kwargs
    )
    result: dict[str, Any] = operator.execute(_context(TaskInstance(xcoms, map_index)))
    return result


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"upload_task_id": ""}, "upload_task_id must be the task_id of the upload task"),
        (
            {"settle_seconds": -1},
            r"settle_seconds must be a number of seconds at least 0 .* \(30 days\); got -1",
        ),
        ({"settle_seconds": "soon"}, "settle_seconds must be a number of seconds at least 0"),
        ({"min_linked_share": 60}, "min_linked_share must be a number at least 0 and at most 1; got 60"),
        ({"on_low": "ignore"}, "on_low must be one of fail, warn; got 'ignore'"),
        ({"counter_id": "abc"}, "counter_id must be a positive integer"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match=message):
        MetrikaLinkageCheckOperator(task_id="check", **{"upload_task_id": UPLOAD, **kwargs})


def test_templated_arguments_wait_for_rendering() -> None:
    operator = MetrikaLinkageCheckOperator(
        task_id="check",
        upload_task_id=UPLOAD,
        settle_seconds="{{ params.s }}",
        min_linked_share="{{ params.m }}",
    )

    assert {"settle_seconds", "min_linked_share", "counter_id"} <= set(operator.template_fields)


# -- shares ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("linked", "share"), [(0, 0.0), (3, 0.6), (5, 1.0)])
def test_the_share_is_linked_orders_over_orders_sent(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, linked: int, share: float
) -> None:
    xcoms = _upload(tmp_path, _orders(5))
    _visits(metrika, [f"o{n}@example.com" for n in range(linked)])

    result = _check(xcoms)

    assert (result["sent"], result["linked"], result["share"]) == (5, linked, share)
    assert result["by_day"][0] | {"by_status": None} == {
        "date": DAY,
        "sent": 5,
        "linked": linked,
        "share": share,
        "comparable": True,
        "spam_sent": 0,
        "spam_linked": 0,
        "by_status": None,
    }
    assert result["by_day"][0]["by_status"]["paid"] == {"sent": 5, "linked": linked}
    assert result["below_threshold"] is False


def test_spam_is_reported_apart_and_never_as_not_linked(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = _upload(tmp_path, _orders(4) + _orders(2, status="SPAM", prefix="s"))
    _visits(metrika, ["o0@example.com", "o1@example.com", "s0@example.com"])

    result = _check(xcoms, min_linked_share=0.5)

    assert (result["sent"], result["linked"], result["share"]) == (4, 2, 0.5)
    assert result["spam"] == {"sent": 2, "linked": 1}
    assert result["by_day"][0]["by_status"]["spam"] == {"sent": 2, "linked": 1}


def test_days_statuses_and_the_log_table(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _orders(2) + _orders(1, status="", prefix="e")
    rows += _orders(2, day="2024-01-10", status="CANCELLED", prefix="c")
    rows += [("g0", "2024-01-10 13:00:00", "g0@example.com", "dostavka")]
    xcoms = _upload(tmp_path, rows)
    _visits(metrika, ["o0@example.com", "e0@example.com", "c1@example.com", "g0@example.com"])

    result = _check(xcoms)
    log = capsys.readouterr().out

    assert [(d["date"], d["sent"], d["linked"]) for d in result["by_day"]] == [
        (DAY, 3, 2),
        ("2024-01-10", 3, 2),
    ]
    assert result["by_day"][0]["by_status"]["paid"] == {"sent": 3, "linked": 2}
    assert result["by_day"][1]["by_status"]["cancelled"] == {"sent": 2, "linked": 1}
    assert result["by_day"][1]["by_status"]["other"] == {"sent": 1, "linked": 1}
    assert (result["date1"], result["date2"]) == (DAY, "2024-01-10")
    assert "  date        sent  linked  share  paid  in_progress  cancelled  other  spam\n" in log
    assert "  2024-01-10     3       2  66.7%   0/0          0/0        2/1    1/1   0/0\n" in log
    assert "  total          6       4  66.7%   3/2" in log
    assert "What they cannot say" in log
    assert "@example.com" not in log


# -- threshold ------------------------------------------------------------------------------------


def test_a_share_below_the_threshold_fails_naming_share_threshold_and_causes(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = _upload(tmp_path, _orders(5))
    _visits(metrika, ["o0@example.com"])

    with pytest.raises(MetrikaLinkageError) as raised:
        _check(xcoms, min_linked_share=0.5)

    message = str(raised.value)
    assert (
        "Linked share 20.0% (1 of 5 orders, spam apart) on counter 12345 is below min_linked_share 50.0%"
        in message
    )
    causes = [
        message.index(text)
        for text in ("hashed or normalised", "21 days", "matches visitors", "wrong counter")
    ]
    assert causes == sorted(causes)
    assert "3c56ff8fef0f6c65b36b2d25720fe276" in message


def test_warn_logs_the_low_share_and_returns_the_result(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xcoms = _upload(tmp_path, _orders(5))
    _visits(metrika, ["o0@example.com"])

    result = _check(xcoms, min_linked_share="0.5", on_low="warn")
    log = capsys.readouterr().out

    assert (result["share"], result["below_threshold"]) == (0.2, True)
    assert "is below min_linked_share 50.0%" in log


def test_a_share_at_the_threshold_passes(metrika: EmulatorClient, metrika_conn: str, tmp_path: Path) -> None:
    xcoms = _upload(tmp_path, _orders(5))
    _visits(metrika, [f"o{n}@example.com" for n in range(3)])

    assert _check(xcoms, min_linked_share=0.6)["below_threshold"] is False


# -- like with like -------------------------------------------------------------------------------


def test_more_linked_than_sent_is_a_bug_signal_left_out_of_the_share(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another run sent other orders of the same day: Metrika holds (and links) them too.
    _upload(tmp_path, _orders(4, prefix="other"))
    xcoms = _upload(tmp_path, _orders(2) + _orders(2, day="2024-01-10", prefix="n"))
    _visits(metrika, [f"other{n}@example.com" for n in range(4)] + ["o0@example.com", "n0@example.com"])

    result = _check(xcoms)
    log = capsys.readouterr().out

    assert result["over_counted_days"] == [DAY]
    assert result["by_day"][0]["share"] is None
    assert (result["sent"], result["linked"], result["share"]) == (2, 1, 0.5)
    assert "a share above 100% is not a result" in log


def test_after_a_changed_only_run_the_denominator_is_every_order_metrika_holds(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = Destination("127.0.0.1", COUNTER)
    orders = _orders(5)
    first = prepare_simple_orders(
        _orders_csv(tmp_path, orders),
        tmp_path / "first",
        timezone=COUNTER_TIMEZONE,
        sync_state=SyncState.empty(here),
    )
    upload_simple_orders(MetrikaHook(), COUNTER, first.parts[0].path)
    sent = first.sent_orders
    assert sent is not None
    state_file = tmp_path / "state.parquet"
    with state_file.open("wb") as out:
        SyncState.empty(here).apply(lambda: read_sent(sent)).write(out, first.report.columns)
    state = SyncState.read(state_file, here, "s")
    # The next run: one order changed its status, four are unchanged.
    xcoms = _upload(tmp_path, [*orders[:4], (*orders[4][:3], "CANCELLED")], sync_state=state)
    _visits(metrika, [f"o{n}@example.com" for n in range(3)])
    assert xcoms[(UPLOAD, "orders_report", -1)]["rows_written"] == 1

    result = _check(xcoms)
    log = capsys.readouterr().out

    assert (result["sent"], result["linked"], result["share"], result["denominator"]) == (5, 3, 0.6, "held")
    assert result["by_day"][0]["by_status"]["cancelled"] == {"sent": 1, "linked": 0}
    assert "plus 4 unchanged since earlier runs" in " ".join(log.split())


# -- access, waiting, mapping ---------------------------------------------------------------------


def test_a_token_without_metrika_read_is_told_so(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xcoms = _upload(tmp_path, _orders(2))
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_UPLOADONLY",
        connection_json(metrika.base_url, "tok-UPLOADONLY-0a1b", retry_limit=0),
    )

    with pytest.raises(
        MetrikaAccessDeniedError, match="the token lacks metrika:read, which is needed to read"
    ):
        _check(xcoms, metrika_conn_id="metrika_uploadonly")


def test_deferrable_defers_to_a_settle_trigger_that_fires_then_completes(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = _upload(tmp_path, _orders(2))
    _visits(metrika, ["o0@example.com"])
    ti = TaskInstance(xcoms)
    operator = MetrikaLinkageCheckOperator(
        task_id="check", upload_task_id=UPLOAD, settle_seconds="2", deferrable=True
    )

    with pytest.raises(TaskDeferred) as caught:
        operator.execute(_context(ti))
    trigger = caught.value.trigger
    assert isinstance(trigger, MetrikaSettleTrigger)
    [moment] = trigger.serialize()[1].values()
    [uploading] = xcoms[(UPLOAD, "return_value", -1)]
    stored = datetime.fromisoformat(uploading["datetime"].replace(" ", "T")).replace(tzinfo=UTC)
    assert moment == stored.timestamp() + 2, "settle_seconds after Metrika stored the upload"
    assert metrika.api_requests(path_contains="/stat/") == [], "nothing is read before the reports settle"

    event = asyncio.run(_first_event(trigger))
    assert time.time() >= moment, "the event waited for the moment"
    result = operator.execute_complete(_context(ti), event.payload)

    assert (result["sent"], result["linked"]) == (2, 1)


async def _first_event(trigger: MetrikaSettleTrigger) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger yielded nothing")


def test_a_re_run_after_the_settle_time_reads_at_once(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = _upload(tmp_path, _orders(2))
    operator = MetrikaLinkageCheckOperator(
        task_id="check", upload_task_id=UPLOAD, settle_seconds=0, deferrable=True
    )

    result = operator.execute(_context(TaskInstance(xcoms)))

    assert result["sent"] == 2


def test_a_mapped_check_reads_its_own_upload(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = {
        **_upload(tmp_path, _orders(2), map_index=0),
        **_upload(tmp_path, _orders(3, prefix="m"), map_index=1),
    }

    assert _check(xcoms, map_index=1)["sent"] == 3
    with pytest.raises(MetrikaInvalidArgumentError, match="is mapped: map this check the same way"):
        _check(xcoms)


def test_an_upload_task_without_a_report_is_named(metrika_conn: str) -> None:
    with pytest.raises(MetrikaInvalidArgumentError, match="task 'upload_orders' pushed no orders_report"):
        _check({})


def test_spam_only_has_no_share_to_check(metrika: EmulatorClient, metrika_conn: str, tmp_path: Path) -> None:
    xcoms = _upload(tmp_path, _orders(2, status="SPAM"))

    result = _check(xcoms, min_linked_share=0.5)

    assert (result["sent"], result["share"], result["below_threshold"]) == (0, None, False)
    assert result["spam"] == {"sent": 2, "linked": 0}


def test_when_every_day_is_over_counted_the_threshold_cannot_be_checked(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    _upload(tmp_path, _orders(3, prefix="other"))
    xcoms = _upload(tmp_path, _orders(1))
    _visits(metrika, ["other0@example.com", "other1@example.com"])

    with pytest.raises(MetrikaLinkageError, match="No day of this upload can be compared"):
        _check(xcoms, min_linked_share=0.5)


def test_an_upload_that_sent_no_part_is_not_waited_for(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    xcoms = _upload(tmp_path, _orders(2))
    xcoms[(UPLOAD, "return_value", -1)] = []
    operator = MetrikaLinkageCheckOperator(task_id="check", upload_task_id=UPLOAD, deferrable=True)

    result = operator.execute(_context(TaskInstance(xcoms)))

    assert result["sent"] == 2


def test_an_upload_that_wrote_nothing_has_nothing_to_check(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    report = {"orders_by_date": {}, "orders_held_by_date": {}, "changed_only": False}
    xcoms = {(UPLOAD, "orders_report", -1): report, (UPLOAD, COUNTER_ID_XCOM_KEY, -1): COUNTER}

    result = _check(xcoms, min_linked_share=0.5)

    assert (result["sent"], result["linked"], result["share"], result["by_day"]) == (0, 0, None, [])
    assert metrika.api_requests(path_contains="/stat/") == []
