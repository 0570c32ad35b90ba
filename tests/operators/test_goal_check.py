"""The goals check before an upload, against the emulator: statuses and goals checked, refused or warned."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_metrika.emulator.goals import action_goal
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.javascript_goals import JavaScriptGoals
from airflow_provider_metrika.operators._goal_check import (
    GoalCheck,
    MetrikaUnknownGoalError,
    MetrikaUnknownGoalStatusError,
    check_goals,
)
from airflow_provider_metrika.simple_orders import OrdersReport
from tests.conftest import COUNTER, OTHER_TOKEN, connection_json

LOG = logging.getLogger("test-goal-check")

#: One goal per condition form Metrika lists for a JavaScript event, and a page goal.
CONDITION_GOALS = [
    action_goal(11, "legacy_paid", "Legacy paid"),
    action_goal(12, "order", "Order (exact)", condition="exact"),
    action_goal(13, "lead", "Any lead", condition="contain"),
    action_goal(14, "call_", "Calls", condition="start"),
    action_goal(15, "^visit_[0-9]+$", "Visits", condition="regexp"),
    {"id": 16, "name": "Checkout page", "type": "url", "conditions": [{"type": "exact", "url": "/checkout"}]},
]


def _report(
    goals: dict[str, int] | None = None, statuses: dict[str, int] | None = None, **named: int
) -> OrdersReport:
    counts = {**(statuses or {}), **named}
    return OrdersReport(
        rows_read=sum(counts.values()), status_counts={"PAID": 3, **counts}, goal_counts=goals or {}
    )


def _check(conn_id: str, report: OrdersReport, statuses: str = "error", goals: str = "allow") -> GoalCheck:
    """Check, then enforce as the operator does after pushing the report."""
    check = check_goals(MetrikaHook(conn_id), COUNTER, report, LOG)
    check.enforce(unknown_statuses=statuses, unknown_goals=goals, log=LOG)
    return check


def test_hook_reads_the_counters_goals_and_the_default_goals_include_an_exact_condition(
    metrika_conn: str,
) -> None:
    goals = MetrikaHook(metrika_conn).get_goals(COUNTER)

    assert {"oplata_cash", "filial_1", "plohoy_lead", "dostavka"} <= JavaScriptGoals.from_goals(
        goals
    ).identifiers()
    assert {"type": "exact", "url": "dostavka"} in [c for goal in goals for c in goal.get("conditions", [])]


def test_statuses_that_are_goals_of_the_counter_pass(metrika_conn: str) -> None:
    check = _check(metrika_conn, _report(dostavka=2, oplata_cash=1))

    assert check.to_dict() == GoalCheck(checked=True).to_dict()


def test_statuses_meeting_every_condition_form_are_sent_and_the_uncertain_ones_warned(
    metrika: EmulatorClient, metrika_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    metrika.configure(goals={COUNTER: CONDITION_GOALS})

    with caplog.at_level(logging.INFO, logger=LOG.name):
        check = _check(metrika_conn, _report(legacy_paid=1, order=2, new_lead=3, call_in=4, visit_42=5))

    assert check.unknown_statuses == {}
    assert set(check.uncertain) == {"new_lead", "call_in", "visit_42"}
    assert check.uncertain["new_lead"] == ["'Any lead' (id 13): contain 'lead'"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert any("order_status 'call_in'" in w and "'Calls' (id 14): start 'call_'" in w for w in warnings)
    assert any("'Visits' (id 15): regexp '^visit_[0-9]+$'" in w for w in warnings)
    assert "'legacy_paid' (1 row), 'order' (2 rows)" in caplog.text


def test_statuses_that_are_no_goal_of_the_counter_fail_naming_counts_goals_conditions_and_fixes(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(goals={COUNTER: CONDITION_GOALS})

    with pytest.raises(MetrikaUnknownGoalStatusError) as raised:
        _check(metrika_conn, _report(shipped=5, neu=1, order=1, visit_x=1))

    message = str(raised.value)
    assert "'shipped' (5 rows), 'neu' (1 row), 'visit_x' (1 row)" in message
    assert "'order'" not in message.split("(its JavaScript goals")[0]
    for described in (
        "'Legacy paid' (id 11): action 'legacy_paid'",
        "'Order (exact)' (id 12): exact 'order'",
        "'Any lead' (id 13): contain 'lead'",
        "'Calls' (id 14): start 'call_'",
        "'Visits' (id 15): regexp '^visit_[0-9]+$'",
    ):
        assert described in message
    assert "/checkout" not in message
    assert "status_map={'shipped': '<PAID|IN_PROGRESS|CANCELLED|SPAM>'" in message
    assert 'unknown_statuses="allow"' in message


def test_allow_sends_unknown_goal_statuses_with_a_warning(
    metrika_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        check = _check(metrika_conn, _report(shipped=5), statuses="allow")

    assert check.unknown_statuses == {"shipped": 5}
    assert "'shipped' (5 rows)" in caplog.text


def test_goals_identifiers_the_counter_lacks_are_warned_with_their_order_counts(
    metrika_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG.name):
        check = _check(metrika_conn, _report({"oplata_cash": 4, "filial_9": 2, "plohoy_lead": 1}))

    assert check.unknown_goals == {"filial_9": 2}
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "goals column: identifiers 'filial_9' (2 orders) reach no JavaScript goal" in warnings[0]
    assert "exact 'dostavka'" in warnings[0]
    assert "'oplata_cash' (4 orders), 'plohoy_lead' (1 order) are JavaScript goals" in caplog.text


def test_goals_identifiers_the_counter_lacks_are_refused_when_asked(metrika_conn: str) -> None:
    with pytest.raises(MetrikaUnknownGoalError, match=r"'filial_9' \(2 orders\)"):
        _check(metrika_conn, _report({"filial_9": 2}), goals="error")


def test_a_numeric_goal_id_given_as_a_status_is_answered_with_its_javascript_identifier(
    metrika: EmulatorClient, metrika_conn: str
) -> None:
    metrika.configure(goals={COUNTER: [action_goal(777, "dostavka", "Delivery")]})

    with pytest.raises(
        MetrikaUnknownGoalStatusError,
        match="'777' is the numeric id of goal 'Delivery': the file needs its JavaScript identifier "
        "'dostavka'",
    ):
        _check(metrika_conn, _report(statuses={"777": 1}))


def test_without_read_access_to_the_goals_the_check_warns_and_lets_the_upload_go(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # This token may not use the counter at all, so Metrika answers 403 on its goals.
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_NOREAD", connection_json(metrika.base_url, OTHER_TOKEN, retry_limit=0)
    )

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        check = _check("metrika_noread", _report({"filial_9": 1}, shipped=2))

    assert check == GoalCheck()
    assert (
        "order_status values 'shipped' (2 rows) and goals column identifiers 'filial_9' (1 order) are sent "
        "as JavaScript goal identifiers, unchecked"
    ) in caplog.text
    assert "metrika:read" in caplog.text


def test_no_goal_identifiers_means_no_goals_request(metrika: EmulatorClient, metrika_conn: str) -> None:
    assert _check(metrika_conn, _report(CANCELLED=1)) == GoalCheck()

    assert metrika.api_requests(path_contains="/goals") == []


def test_the_findings_go_to_the_report_as_plain_json() -> None:
    check = GoalCheck(
        True, {"shipped": 1}, {"filial_9": 2}, {"new_lead": ["'Any lead' (id 13): contain 'lead'"]}
    )

    assert check.to_dict() == {
        "checked": True,
        "unknown_statuses": {"shipped": 1},
        "unknown_goals": {"filial_9": 2},
        "uncertain": {"new_lead": ["'Any lead' (id 13): contain 'lead'"]},
    }
