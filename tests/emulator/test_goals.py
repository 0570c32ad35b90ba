"""The emulated goals list: Metrika's management API shape, per-counter goals, access checks."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_metrika.emulator.__main__ import build_parser, settings_from_args
from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.conftest import COUNTER, OTHER_TOKEN, TOKEN


def _goals(metrika: EmulatorClient, token: str = TOKEN, counter: int = COUNTER) -> requests.Response:
    return requests.get(
        f"{metrika.base_url}/management/v1/counter/{counter}/goals",
        headers={"Authorization": f"OAuth {token}"},
        timeout=10,
    )


def test_a_counter_lists_javascript_goals_whose_condition_holds_the_identifier(
    metrika: EmulatorClient,
) -> None:
    response = _goals(metrika)

    assert response.status_code == 200
    goals = response.json()["goals"]
    actions = [goal for goal in goals if goal["type"] == "action"]
    assert actions[0]["conditions"] == [{"type": "action", "url": "oplata_cash"}]
    assert {goal["conditions"][0]["url"] for goal in actions} >= {"oplata_cash", "filial_1", "plohoy_lead"}
    # As Yandex's own goal-creation example makes a JavaScript-event goal.
    assert {"type": "exact", "url": "dostavka"} in [goal["conditions"][0] for goal in actions]
    for goal in goals:
        assert isinstance(goal["id"], int)
        assert {"name", "type", "default_price", "goal_source", "is_favorite", "status"} <= set(goal)


def test_configured_goals_replace_the_defaults_until_reset(metrika: EmulatorClient) -> None:
    metrika.configure(
        goals={COUNTER: ["dostavka", {"id": 42, "name": "Cart", "type": "url", "conditions": []}]}
    )

    goals = _goals(metrika).json()["goals"]
    assert [(goal["type"], goal["name"]) for goal in goals] == [("action", "dostavka"), ("url", "Cart")]
    metrika.reset()
    assert "oplata_cash" in {goal["name"] for goal in _goals(metrika).json()["goals"]}


def test_goals_need_a_valid_token_with_access_to_the_counter(metrika: EmulatorClient) -> None:
    assert _goals(metrika, token="wrong").status_code == 401
    denied = _goals(metrika, token=OTHER_TOKEN)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["error_type"] == "access_denied"


def test_a_fault_can_target_the_goals_list(metrika: EmulatorClient) -> None:
    metrika.inject_faults({"target": "goals", "status": 403, "error_type": "access_denied"})

    assert _goals(metrika).status_code == 403
    assert _goals(metrika).status_code == 200


def test_the_command_line_gives_a_counter_its_javascript_goals() -> None:
    settings = settings_from_args(
        build_parser().parse_args(["--goal", "12345:dostavka", "--goal", "12345:oplata"])
    )

    assert [goal["conditions"] for goal in settings.goals_of(12345)] == [
        [{"type": "action", "url": "dostavka"}],
        [{"type": "action", "url": "oplata"}],
    ]
    assert len(settings.goals_of(67890)) == 5, "a counter given no goals has the sample ones"


@pytest.mark.parametrize("argv", [["--goal", "12345"], ["--goal", "x:dostavka"]])
def test_a_goal_argument_needs_a_counter_and_an_identifier(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
