"""Which of a counter's JavaScript-event goals a CRM value reaches, read from the goals Metrika lists.

A simplified-orders file (``order_status``, ``goals``) and an offline conversion (``Target``) name a
JavaScript-event goal by its identifier, the string the site passes to
``ym(..., "reachGoal", "<identifier>")``, not by the goal's numeric ``id``. In the management API's
goal object (``GET management/v1/counter/{id}/goals``) that identifier sits in a condition's ``url``:

- a goal of type ``action`` (a JavaScript event) matches the identifier by each of its conditions:
  ``action`` (the "special condition type for JavaScript-event goals") and ``exact`` (the form Yandex's
  own goal-creation example uses) by equality; ``contain`` by substring, ``start`` by prefix and
  ``regexp`` by a regular expression search;
- a step of a composite goal (type ``step``) holds page and event conditions side by side; its event
  conditions are ``action`` (equality), ``contain_action`` and ``regexp_action``, and a step whose own
  ``type`` is ``action`` matches by all its conditions as an ``action`` goal does.

Equality is what the CRM documentation describes. How Metrika matches a CRM value against a
``contain``, ``start`` or ``regexp`` condition is not documented: such a match is reported as
*uncertain*, for the caller to send with a warning naming the goal and its condition, never to refuse.
The numeric ``id`` is what the management API uses to change or delete a goal; a value equal to one is
not taken as a goal (see :meth:`JavaScriptGoals.numeric_hints`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Condition types of an ``action`` goal, and how each matches: ``equal``, ``contain``, ``start``, ``regexp``.
_GOAL_CONDITIONS = {
    "action": "equal",
    "exact": "equal",
    "contain": "contain",
    "start": "start",
    "regexp": "regexp",
}
#: Event condition types inside a step of a composite goal (the others there are page conditions).
_STEP_CONDITIONS = {"action": "equal", "contain_action": "contain", "regexp_action": "regexp"}
#: Goals and conditions named in a message at the most.
_SHOWN = 20


@dataclass(frozen=True)
class GoalCondition:
    """One condition by which a JavaScript-event goal is reached.

    :param goal_id: the goal's numeric id (a composite goal's, for a step).
    :param goal_name: the goal's name.
    :param condition_type: the condition's ``type`` as Metrika lists it (``exact``, ``contain_action``, ...).
    :param match: how it matches an identifier: ``equal``, ``contain``, ``start`` or ``regexp``.
    :param value: the condition's ``url``: the identifier, or the substring, prefix or pattern.
    """

    goal_id: object
    goal_name: str
    condition_type: str
    match: str
    value: str

    @property
    def certain(self) -> bool:
        """Whether a match is documented to reach the goal (equality)."""
        return self.match == "equal"

    def matches(self, identifier: str) -> bool:
        """Return whether ``identifier``, passed to ``reachGoal``, meets this condition.

        :param identifier: an ``order_status``, a ``goals`` identifier or a ``Target``.
        """
        if self.match == "equal":
            return identifier == self.value
        if self.match == "contain":
            return self.value in identifier
        if self.match == "start":
            return identifier.startswith(self.value)
        try:
            return re.search(self.value, identifier) is not None
        except re.error:
            return False  # Metrika's RE2 syntax may hold what Python's re does not read: no match

    def describe(self) -> str:
        """Name the goal and its condition, e.g. ``'Lead' (id 7): contain 'lead'``."""
        return f"{self.goal_name!r} (id {self.goal_id}): {self.condition_type} {self.value!r}"


@dataclass(frozen=True)
class GoalMatches:
    """How a set of identifiers met a counter's JavaScript-event goals.

    :param reached: identifiers equal to a goal's identifier.
    :param uncertain: identifiers met only by a ``contain``, ``start`` or ``regexp`` condition, each
        with those conditions.
    :param unmatched: identifiers no condition meets.
    """

    reached: frozenset[str] = frozenset()
    uncertain: dict[str, tuple[GoalCondition, ...]] = field(default_factory=dict)
    unmatched: frozenset[str] = frozenset()


@dataclass(frozen=True)
class JavaScriptGoals:
    """A counter's JavaScript-event goals, as the conditions that reach them.

    :param conditions: every event condition of the counter's goals and composite goals' steps.
    :param numeric_ids: numeric goal id (as text) -> the goal's name and the identifier of its first
        equality condition, for goals that have one.
    """

    conditions: tuple[GoalCondition, ...] = ()
    numeric_ids: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_goals(cls, goals: Iterable[Mapping[str, Any]]) -> JavaScriptGoals:
        """Read the goals as ``GET management/v1/counter/{id}/goals`` lists them.

        :param goals: the goal objects; unknown goal and condition types are passed over.
        """
        conditions: list[GoalCondition] = []
        numeric_ids: dict[str, tuple[str, str]] = {}
        for goal in goals:
            found = _goal_conditions(goal)
            conditions += found
            equal = [condition for condition in found if condition.certain]
            if equal and goal.get("id") is not None:
                numeric_ids.setdefault(str(goal["id"]), (equal[0].goal_name, equal[0].value))
        return cls(tuple(conditions), numeric_ids)

    def identifiers(self) -> set[str]:
        """Return the identifiers that reach a goal by equality."""
        return {condition.value for condition in self.conditions if condition.certain}

    def match(self, identifiers: Iterable[str]) -> GoalMatches:
        """Sort identifiers into reached, uncertain and unmatched.

        :param identifiers: distinct values to look up.
        """
        equal = self.identifiers()
        reached: set[str] = set()
        uncertain: dict[str, tuple[GoalCondition, ...]] = {}
        unmatched: set[str] = set()
        for identifier in identifiers:
            if identifier in equal:
                reached.add(identifier)
                continue
            meeting = tuple(c for c in self.conditions if not c.certain and c.matches(identifier))
            if meeting:
                uncertain[identifier] = meeting
            else:
                unmatched.add(identifier)
        return GoalMatches(frozenset(reached), uncertain, frozenset(unmatched))

    def numeric_hints(self, values: Iterable[str]) -> list[str]:
        """Name the JavaScript identifier of each goal whose numeric id was given as a value.

        :param values: the values that reached no goal.
        """
        return [
            f"{value!r} is the numeric id of goal {self.numeric_ids[value][0]!r}: the file needs its "
            f"JavaScript identifier {self.numeric_ids[value][1]!r}"
            for value in values
            if value in self.numeric_ids
        ]

    def describe(self) -> str:
        """List the goals with their conditions, e.g. ``'Paid' (id 1): exact 'paid'; ...``, or ``none``."""
        shown = [condition.describe() for condition in self.conditions[:_SHOWN]]
        if len(self.conditions) > _SHOWN:
            shown.append(f"... and {len(self.conditions) - _SHOWN} more conditions")
        return "; ".join(shown) or "none"


def _goal_conditions(goal: Mapping[str, Any]) -> list[GoalCondition]:
    """Return the event conditions of one goal, or of a composite goal's steps."""
    kinds = _GOAL_CONDITIONS if goal.get("type") == "action" else _STEP_CONDITIONS
    name = str(goal.get("name") or goal.get("id"))
    found = [
        GoalCondition(
            goal.get("id"), name, str(condition["type"]), kinds[condition["type"]], str(condition["url"])
        )
        for condition in goal.get("conditions") or []
        if isinstance(condition, Mapping) and condition.get("type") in kinds and condition.get("url")
    ]
    for step in goal.get("steps") or []:
        if isinstance(step, Mapping):
            found += [
                GoalCondition(goal.get("id"), name, c.condition_type, c.match, c.value)
                for c in _goal_conditions(step)
            ]
    return found
