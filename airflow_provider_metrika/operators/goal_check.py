"""Before an upload: check ``order_status`` values that Metrika will read as JavaScript goal identifiers.

Metrika reads any status other than PAID, IN_PROGRESS, CANCELLED and SPAM as the identifier of one of
the site's JavaScript goals. A CRM status left out of ``status_map`` (``shipped``, ``new``) would go
out as such an identifier and reach no goal. When the token can read the counter's goals
(``metrika:read``), such values are checked against them; without read access, the task warns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.exceptions import MetrikaAccessDeniedError, MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.goals import javascript_goal_identifiers

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook
    from airflow_provider_metrika.simple_orders import OrdersReport

#: Values of ``unknown_statuses``: fail before sending, or send anyway with a warning.
UNKNOWN_STATUSES = ("error", "allow")
_SHOWN = 20


class MetrikaUnknownGoalStatusError(MetrikaInvalidArgumentError):
    """Order statuses would be sent as JavaScript goal identifiers that the counter does not have."""


def _counts(statuses: dict[str, int]) -> str:
    shown = [
        f"{status!r} ({count:,} {'row' if count == 1 else 'rows'})"
        for status, count in list(statuses.items())[:_SHOWN]
    ]
    if len(statuses) > _SHOWN:
        shown.append(f"... and {len(statuses) - _SHOWN:,} more")
    return ", ".join(shown)


def _numeric_hints(unknown: dict[str, int], goals: list[dict[str, Any]]) -> list[str]:
    """Name the JavaScript identifier of a goal whose numeric id was given as a status."""
    hints = []
    for goal in goals:
        identifiers = sorted(javascript_goal_identifiers([goal]))
        if str(goal.get("id")) in unknown and identifiers:
            hints.append(
                f"{str(goal['id'])!r} is the numeric id of goal {goal.get('name')!r}: the file needs its "
                f"JavaScript identifier {identifiers[0]!r}"
            )
    return hints


def unknown_goal_message(counter: int, unknown: dict[str, int], goals: list[dict[str, Any]]) -> str:
    """Return the message for statuses that are not JavaScript goals of the counter.

    :param counter: the counter.
    :param unknown: the statuses and their row counts.
    :param goals: the counter's goal objects.
    """
    identifiers = sorted(javascript_goal_identifiers(goals))
    known = ", ".join(identifiers[:_SHOWN]) + (" ..." if len(identifiers) > _SHOWN else "")
    placeholder = ", ".join(
        f"{status!r}: '<PAID|IN_PROGRESS|CANCELLED|SPAM>'" for status in list(unknown)[:_SHOWN]
    )
    lines = [
        f"order_status values {_counts(unknown)} are not PAID, IN_PROGRESS, CANCELLED or SPAM, and not a "
        f"JavaScript goal identifier of counter {counter} (its JavaScript goals: {known or 'none'}). "
        "Metrika would read them as goal identifiers and reach no goal.",
        *_numeric_hints(unknown, goals),
        f'Map CRM statuses with status_map={{{placeholder}}}, or pass unknown_statuses="allow" to send '
        "them as they are.",
    ]
    return "\n".join(lines)


def check_goal_statuses(
    hook: MetrikaHook, counter: int, report: OrdersReport, unknown_statuses: str, log: Any
) -> dict[str, int]:
    """Return the statuses sent as goal identifiers that the counter lacks; raise unless allowed.

    :param hook: the Metrika hook.
    :param counter: the counter uploaded to.
    :param report: the preparation report (its status counts).
    :param unknown_statuses: ``error`` (raise :class:`MetrikaUnknownGoalStatusError`) or ``allow`` (warn).
    :param log: the task's logger.
    """
    # The orders core (pyarrow) loads when a task runs, not when a DAG file is parsed.
    from airflow_provider_metrika.simple_orders.notices import goal_statuses

    statuses = goal_statuses(report.status_counts)
    if not statuses:
        return {}
    try:
        goals = hook.get_goals(counter)
    except MetrikaAccessDeniedError:
        log.warning(
            "order_status values %s are sent as JavaScript goal identifiers, unchecked: the token cannot "
            "read counter %s's goals (403: it lacks the metrika:read scope, or its owner has no access to "
            "the counter). Check them in Metrika's goal settings, or map CRM statuses with status_map=.",
            _counts(statuses),
            counter,
        )
        return {}
    identifiers = javascript_goal_identifiers(goals)
    unknown = {status: count for status, count in statuses.items() if status not in identifiers}
    if not unknown:
        log.info("order_status values %s are JavaScript goals of counter %s", _counts(statuses), counter)
        return {}
    message = unknown_goal_message(counter, unknown, goals)
    if unknown_statuses == "error":
        raise MetrikaUnknownGoalStatusError(message)
    log.warning('%s\n(unknown_statuses="allow": sending them anyway.)\n', message)
    return unknown
