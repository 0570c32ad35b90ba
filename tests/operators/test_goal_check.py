"""The goals check before an upload, over HTTP against the emulator: goal ids checked, refused or warned."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.goals import javascript_goal_identifiers
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.operators.goal_check import MetrikaUnknownGoalStatusError, check_goal_statuses
from airflow_provider_metrika.simple_orders import OrdersReport
from tests.conftest import COUNTER, OTHER_TOKEN, connection_json

LOG = logging.getLogger("test-goal-check")


def _report(**statuses: int) -> OrdersReport:
    return OrdersReport(rows_read=sum(statuses.values()), status_counts={"PAID": 3, **statuses})


def test_hook_reads_the_counters_goals(metrika_conn: str) -> None:
    goals = MetrikaHook(metrika_conn).get_goals(COUNTER)

    assert {"oplata_cash", "filial_1", "plohoy_lead", "dostavka"} <= javascript_goal_identifiers(goals)


def test_identifiers_of_composite_goal_steps_count_and_page_goals_do_not() -> None:
    goals = [
        {"id": 1, "type": "url", "conditions": [{"type": "contain", "url": "/checkout"}]},
        {
            "id": 2,
            "type": "step",
            "steps": [{"id": 3, "type": "action", "conditions": [{"type": "action", "url": "s1"}]}],
        },
    ]

    assert javascript_goal_identifiers(goals) == {"s1"}


def test_statuses_that_are_goals_of_the_counter_pass(metrika_conn: str) -> None:
    assert check_goal_statuses(MetrikaHook(metrika_conn), COUNTER, _report(dostavka=2), "error", LOG) == {}


def test_statuses_that_are_no_goal_of_the_counter_fail_naming_counts_and_fixes(metrika_conn: str) -> None:
    with pytest.raises(MetrikaUnknownGoalStatusError) as raised:
        check_goal_statuses(
            MetrikaHook(metrika_conn), COUNTER, _report(shipped=5, new=1, dostavka=1), "error", LOG
        )

    message = str(raised.value)
    assert "'shipped' (5 rows), 'new' (1 row)" in message
    assert "dostavka'" not in message.split("(its JavaScript goals")[0]
    assert "status_map={'shipped': '<PAID|IN_PROGRESS|CANCELLED|SPAM>'" in message
    assert 'unknown_statuses="allow"' in message


def test_allow_sends_unknown_goal_statuses_with_a_warning(
    metrika_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        unknown = check_goal_statuses(MetrikaHook(metrika_conn), COUNTER, _report(shipped=5), "allow", LOG)

    assert unknown == {"shipped": 5}
    assert "'shipped' (5 rows)" in caplog.text


def test_a_numeric_goal_id_given_as_a_status_is_answered_with_its_javascript_identifier(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(
        goals={
            COUNTER: [
                {
                    "id": 777,
                    "name": "Delivery",
                    "type": "action",
                    "conditions": [{"type": "action", "url": "dostavka"}],
                }
            ]
        }
    )

    with pytest.raises(
        MetrikaUnknownGoalStatusError,
        match="'777' is the numeric id of goal 'Delivery': the file needs its JavaScript identifier "
        "'dostavka'",
    ):
        check_goal_statuses(MetrikaHook(metrika_conn), COUNTER, _report(**{"777": 1}), "error", LOG)


def test_without_read_access_to_the_goals_the_check_warns_and_lets_the_upload_go(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # This token may not use the counter at all, so Metrika answers 403 on its goals.
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_NOREAD", connection_json(metrika.base_url, OTHER_TOKEN, retry_limit=0)
    )

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        unknown = check_goal_statuses(
            MetrikaHook("metrika_noread"), COUNTER, _report(shipped=2), "error", LOG
        )

    assert unknown == {}
    assert "sent as JavaScript goal identifiers, unchecked" in caplog.text
    assert "metrika:read" in caplog.text


def test_no_goal_statuses_means_no_goals_request(metrika: EmulatorClient, metrika_conn: str) -> None:
    check_goal_statuses(MetrikaHook(metrika_conn), COUNTER, _report(CANCELLED=1), "error", LOG)

    assert metrika.api_requests(path_contains="/goals") == []
