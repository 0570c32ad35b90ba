"""The counter's goals as Metrika's management API lists them (``GET management/v1/counter/{id}/goals``).

Modelled on Yandex's "List of goals" reference: ``{"goals": [goal, ...]}``, each goal with ``id``
(integer), ``name``, ``type`` (``action`` for a JavaScript event, ``url``, ``step``, ``number``, ...),
``default_price``, ``is_retargeting``, ``goal_source``, ``is_favorite``, ``status`` and, for most
types, ``conditions``: ``[{"type": ..., "url": ...}]``. A JavaScript-event goal's condition holds the
goal's identifier, the string the site passes to ``reachGoal`` and a simplified-orders file puts in
``order_status`` or ``goals``: of type ``action``, or ``exact`` as Yandex's own goal-creation example
makes it (``{"type": "action", "conditions": [{"type": "exact", "url": "order"}]}``); ``contain``,
``start`` and ``regexp`` conditions match identifiers by substring, prefix or pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_metrika.emulator.constants import parse_counter_id

#: JavaScript goal identifiers every emulated counter has unless configured otherwise: those of
#: Metrika's sample file (``oplata_cash``, ``filial_1``, ``plohoy_lead``) and of its status mapping
#: example (``dostavka``, listed with an ``exact`` condition as Yandex's goal-creation example makes it).
DEFAULT_GOAL_IDENTIFIERS = ("oplata_cash", "filial_1", "plohoy_lead", "dostavka")
_EXACT_DEFAULT = "dostavka"
_FIRST_GOAL_ID = 3_000_001


def action_goal(
    goal_id: int, identifier: str, name: str | None = None, condition: str = "action"
) -> dict[str, Any]:
    """Return a JavaScript-event goal object.

    :param goal_id: the goal's numeric id.
    :param identifier: the JavaScript identifier (``reachGoal`` argument), or the substring, prefix or
        pattern of a ``contain``, ``start`` or ``regexp`` condition.
    :param name: the goal's name; the identifier when omitted.
    :param condition: the condition's type: ``action``, ``exact``, ``contain``, ``start`` or ``regexp``.
    """
    return {
        "id": goal_id,
        "name": name or identifier,
        "type": "action",
        "default_price": 0.0,
        "is_retargeting": False,
        "goal_source": "user",
        "is_favorite": False,
        "status": "Active",
        "conditions": [{"type": condition, "url": identifier}],
    }


def default_goals() -> list[dict[str, Any]]:
    """Return the goals of a counter whose goals were not configured: JS goals and one page goal."""
    goals = [
        action_goal(
            _FIRST_GOAL_ID + number,
            identifier,
            condition="exact" if identifier == _EXACT_DEFAULT else "action",
        )
        for number, identifier in enumerate(DEFAULT_GOAL_IDENTIFIERS)
    ]
    goals.append(
        {
            "id": _FIRST_GOAL_ID + len(goals),
            "name": "Checkout page",
            "type": "url",
            "default_price": 0.0,
            "is_retargeting": False,
            "goal_source": "user",
            "is_favorite": False,
            "status": "Active",
            "conditions": [{"type": "contain", "url": "/checkout"}],
        }
    )
    return goals


def parse_goals(value: object) -> dict[int, list[dict[str, Any]]]:
    """Read the ``goals`` setting: counter id -> list of goal objects, or of JS identifiers as shorthand.

    :param value: ``{"12345": ["dostavka", {"id": 7, "name": "...", "type": "url", ...}]}``.
    :raises ValueError: on a malformed value.
    """
    if not isinstance(value, Mapping):
        raise ValueError("goals must be an object of counter id to a list of goals")
    result: dict[int, list[dict[str, Any]]] = {}
    for counter, items in value.items():
        if not isinstance(items, list):
            raise ValueError(f"goals of counter {counter} must be a list")
        goals: list[dict[str, Any]] = []
        for number, item in enumerate(items):
            if isinstance(item, str) and item:
                goals.append(action_goal(_FIRST_GOAL_ID + number, item))
            elif isinstance(item, Mapping) and isinstance(item.get("id"), int) and item.get("type"):
                goals.append(dict(item))
            else:
                raise ValueError(
                    f"a goal must be a JS identifier or an object with id and type, got {item!r}"
                )
        result[parse_counter_id(counter)] = goals
    return result
