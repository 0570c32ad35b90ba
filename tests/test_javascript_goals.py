"""Reading a counter's goals: which condition forms reach a JavaScript goal, and how each matches."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_metrika.javascript_goals import JavaScriptGoals

#: A composite goal whose steps mix page conditions and every event condition form of a step.
COMPOSITE = {
    "id": 20,
    "name": "Funnel",
    "type": "step",
    "steps": [
        {"name": "cart page", "conditions": [{"type": "contain", "url": "/cart"}]},
        {"name": "event", "conditions": [{"type": "action", "url": "s_exact"}]},
        {"name": "event like", "conditions": [{"type": "contain_action", "url": "pay"}]},
        {"name": "event pattern", "conditions": [{"type": "regexp_action", "url": "^crm_[a-z]+$"}]},
        {"name": "whole step", "type": "action", "conditions": [{"type": "start", "url": "step_"}]},
    ],
}
PAGE_GOAL = {
    "id": 21,
    "name": "Thanks page",
    "type": "url",
    "conditions": [{"type": "exact", "url": "thanks"}],
}


def _goal(goal_id: int, condition: str, value: str) -> dict[str, Any]:
    return {
        "id": goal_id,
        "name": f"g{goal_id}",
        "type": "action",
        "conditions": [{"type": condition, "url": value}],
    }


def test_action_and_exact_conditions_reach_by_equality_only() -> None:
    goals = JavaScriptGoals.from_goals([_goal(1, "action", "paid"), _goal(2, "exact", "order")])

    matches = goals.match(["paid", "order", "Order", "order_2", "paid "])

    assert matches.reached == {"paid", "order"}
    assert matches.unmatched == {"Order", "order_2", "paid "}
    assert goals.identifiers() == {"paid", "order"}


def test_contain_start_and_regexp_conditions_match_as_substring_prefix_and_search_and_are_uncertain() -> None:
    goals = JavaScriptGoals.from_goals(
        [_goal(1, "contain", "lead"), _goal(2, "start", "call_"), _goal(3, "regexp", "^v[0-9]+$")]
    )

    matches = goals.match(["new_lead", "call_in", "in_call_", "v12", "v12x"])

    assert matches.reached == frozenset()
    assert {key: [c.describe() for c in value] for key, value in matches.uncertain.items()} == {
        "new_lead": ["'g1' (id 1): contain 'lead'"],
        "call_in": ["'g2' (id 2): start 'call_'"],
        "v12": ["'g3' (id 3): regexp '^v[0-9]+$'"],
    }
    assert matches.unmatched == {"in_call_", "v12x"}


def test_composite_goal_steps_count_their_event_conditions_and_page_goals_do_not() -> None:
    goals = JavaScriptGoals.from_goals([COMPOSITE, PAGE_GOAL])

    matches = goals.match(["s_exact", "prepay", "crm_paid", "step_two", "/cart", "thanks", "crm_9"])

    assert matches.reached == {"s_exact"}
    assert set(matches.uncertain) == {"prepay", "crm_paid", "step_two"}
    assert matches.unmatched == {"/cart", "thanks", "crm_9"}
    assert "'Funnel' (id 20): contain_action 'pay'" in goals.describe()
    assert "/cart" not in goals.describe()


def test_an_equality_match_is_certain_even_where_a_looser_condition_also_meets_it() -> None:
    goals = JavaScriptGoals.from_goals([_goal(1, "exact", "lead"), _goal(2, "contain", "lead")])

    assert goals.match(["lead"]).reached == {"lead"}
    assert goals.match(["lead"]).uncertain == {}


def test_a_pattern_python_cannot_read_matches_nothing_instead_of_failing() -> None:
    goals = JavaScriptGoals.from_goals([_goal(1, "regexp", "(?P<unclosed")])

    assert goals.match(["anything"]).unmatched == {"anything"}


def test_malformed_goal_objects_are_passed_over() -> None:
    goals = JavaScriptGoals.from_goals(
        [
            {"id": 1, "type": "action"},
            {"id": 2, "type": "action", "conditions": [{"type": "exact"}, "x", None]},
        ]
    )

    assert goals.conditions == ()
    assert goals.describe() == "none"


def test_numeric_ids_are_answered_with_the_goals_identifier() -> None:
    goals = JavaScriptGoals.from_goals([_goal(777, "exact", "dostavka")])

    assert goals.numeric_hints(["777", "778"]) == [
        "'777' is the numeric id of goal 'g777': the file needs its JavaScript identifier 'dostavka'"
    ]


_WORDS = st.text(alphabet="ab_1", min_size=1, max_size=4)
_CONDITIONS = st.lists(
    st.tuples(st.sampled_from(["action", "exact", "contain", "start", "regexp", "url"]), _WORDS), max_size=6
)


@given(conditions=_CONDITIONS, identifiers=st.sets(_WORDS, max_size=8))
def test_any_identifiers_fall_into_exactly_one_of_reached_uncertain_unmatched(
    conditions: list[tuple[str, str]], identifiers: set[str]
) -> None:
    goals = JavaScriptGoals.from_goals([_goal(n, kind, value) for n, (kind, value) in enumerate(conditions)])

    matches = goals.match(identifiers)

    # The oracle: the documented meaning of each condition type, written out on its own.
    def meets(kind: str, value: str, identifier: str) -> bool:
        return {
            "action": identifier == value,
            "exact": identifier == value,
            "contain": value in identifier,
            "start": identifier.startswith(value),
            "regexp": re.search(value, identifier) is not None,
            "url": False,
        }[kind]

    for identifier in identifiers:
        equal = any(meets(k, v, identifier) for k, v in conditions if k in ("action", "exact"))
        loose = any(meets(k, v, identifier) for k, v in conditions if k in ("contain", "start", "regexp"))
        assert (identifier in matches.reached) == equal
        assert (identifier in matches.uncertain) == (loose and not equal)
        assert (identifier in matches.unmatched) == (not equal and not loose)
