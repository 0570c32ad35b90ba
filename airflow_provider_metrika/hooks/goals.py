"""Read a counter's goals: which values Metrika accepts as JavaScript goal identifiers.

A simplified-orders file references a JavaScript goal by its identifier, the string the site passes
to ``ym(..., "reachGoal", "<identifier>")``, not by the goal's numeric ``id``: Metrika's own sample
file sends ``plohoy_lead`` and ``oplata_cash``, and its status-mapping example ``dostavka``. In the
management API's goal object that identifier is the ``url`` of a condition of type ``action`` (goal
type ``action``, or a step of a composite goal). The numeric ``id`` is what the management API uses
to change or delete a goal; the CRM documentation never calls it the goal's identifier, so a status
equal to a numeric id is not taken as a goal: the check names the JavaScript identifier instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def javascript_goal_identifiers(goals: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return the JavaScript goal identifiers of the goals (steps of composite goals included).

    :param goals: goal objects as ``GET management/v1/counter/{id}/goals`` lists them.
    """
    found: set[str] = set()
    for goal in goals:
        for condition in goal.get("conditions") or []:
            if isinstance(condition, Mapping) and condition.get("type") == "action" and condition.get("url"):
                found.add(str(condition["url"]))
        steps = goal.get("steps")
        if isinstance(steps, list):
            found |= javascript_goal_identifiers(step for step in steps if isinstance(step, Mapping))
    return found
