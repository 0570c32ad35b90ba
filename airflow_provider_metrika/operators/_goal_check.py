"""Before an upload: check the JavaScript goal identifiers an orders file names against the counter's goals.

Metrika reads any ``order_status`` other than PAID, IN_PROGRESS, CANCELLED and SPAM, and every
identifier in ``goals``, as the identifier of one of the site's JavaScript goals. A CRM status left
out of ``status_map`` (``shipped``, ``new``) or a misspelt goal would go out as such an identifier and
reach no goal. When the token can read the counter's goals (``metrika:read``), both are checked
against them (:class:`~airflow_provider_metrika.javascript_goals.JavaScriptGoals`: equality is
certain; a ``contain``, ``start`` or ``regexp`` condition is sent with a warning, as how Metrika
applies it to CRM data is not documented); without read access, the task warns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaUnknownGoalError,
    MetrikaUnknownGoalStatusError,
)
from airflow_provider_metrika.javascript_goals import GoalMatches, JavaScriptGoals

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook
    from airflow_provider_metrika.simple_orders import OrdersReport

#: Values of ``unknown_statuses`` and ``unknown_goals``: fail before sending, or send with a warning.
UNKNOWN_STATUSES = ("error", "allow")
_SHOWN = 20


@dataclass(frozen=True)
class GoalCheck:
    """What the check found: pushed with the report, then enforced by :meth:`enforce`.

    :param checked: whether the counter's goals were read (False: nothing to check, or no read access).
    :param unknown_statuses: statuses no goal matches, with their row counts.
    :param unknown_goals: ``goals`` identifiers no goal matches, with the orders naming each.
    :param uncertain: identifiers met only by a non-equality condition, each with those conditions.
    :param messages: the message for unknown statuses and for unknown ``goals``, when there are any.
    """

    checked: bool = False
    unknown_statuses: dict[str, int] = field(default_factory=dict)
    unknown_goals: dict[str, int] = field(default_factory=dict)
    uncertain: dict[str, list[str]] = field(default_factory=dict)
    messages: tuple[str | None, str | None] = (None, None)

    def to_dict(self) -> dict[str, Any]:
        """Return the findings as a JSON-serialisable dict."""
        return {
            "checked": self.checked,
            "unknown_statuses": dict(self.unknown_statuses),
            "unknown_goals": dict(self.unknown_goals),
            "uncertain": {key: list(value) for key, value in self.uncertain.items()},
        }

    def enforce(self, *, unknown_statuses: str, unknown_goals: str, log: Any) -> None:
        """Refuse the unknown identifiers where the options say ``error``; warn about them otherwise.

        :param unknown_statuses: ``error`` (raise :class:`MetrikaUnknownGoalStatusError`) or ``allow``.
        :param unknown_goals: ``error`` (raise :class:`MetrikaUnknownGoalError`) or ``allow``.
        :param log: the task's logger.
        """
        status_message, goals_message = self.messages
        if status_message is not None:
            if unknown_statuses == "error":
                raise MetrikaUnknownGoalStatusError(status_message)
            log.warning('%s\n(unknown_statuses="allow": sending them anyway.)\n', status_message)
        if goals_message is not None:
            if unknown_goals == "error":
                raise MetrikaUnknownGoalError(goals_message)
            log.warning("%s\n", goals_message)


def _counts(values: dict[str, int], unit: str = "row") -> str:
    shown = [
        f"{value!r} ({count:,} {unit if count == 1 else unit + 's'})"
        for value, count in list(values.items())[:_SHOWN]
    ]
    if len(values) > _SHOWN:
        shown.append(f"... and {len(values) - _SHOWN:,} more")
    return ", ".join(shown)


def unknown_goal_message(counter: int, unknown: dict[str, int], goals: JavaScriptGoals) -> str:
    """Return the message for statuses that reach none of the counter's JavaScript goals.

    :param counter: the counter.
    :param unknown: the statuses and their row counts.
    :param goals: the counter's JavaScript-event goals.
    """
    placeholder = ", ".join(
        f"{status!r}: '<PAID|IN_PROGRESS|CANCELLED|SPAM>'" for status in list(unknown)[:_SHOWN]
    )
    lines = [
        f"order_status values {_counts(unknown)} are not PAID, IN_PROGRESS, CANCELLED or SPAM, and reach "
        f"no JavaScript goal of counter {counter} (its JavaScript goals and their conditions: "
        f"{goals.describe()}). Metrika would read them as goal identifiers and reach no goal.",
        *goals.numeric_hints(unknown),
        f'Map CRM statuses with status_map={{{placeholder}}}, or pass unknown_statuses="allow" to send '
        "them as they are.",
    ]
    return "\n".join(lines)


def unknown_goals_message(counter: int, unknown: dict[str, int], goals: JavaScriptGoals) -> str:
    """Return the message for ``goals`` identifiers that reach none of the counter's JavaScript goals.

    :param counter: the counter.
    :param unknown: the identifiers and the orders naming each.
    :param goals: the counter's JavaScript-event goals.
    """
    lines = [
        f"goals column: identifiers {_counts(unknown, 'order')} reach no JavaScript goal of counter "
        f"{counter} (its JavaScript goals and their conditions: {goals.describe()}). Metrika reaches no "
        "goal for them.",
        *goals.numeric_hints(unknown),
        "Fix the identifiers at the source or create the goals in Metrika; "
        'unknown_goals="error" refuses such a file before sending.',
    ]
    return "\n".join(lines)


def _uncertain_lines(kind: str, uncertain: dict[str, tuple[Any, ...]]) -> list[str]:
    return [
        f"{kind} {identifier!r} reaches only by a condition that is not an exact identifier "
        f"({'; '.join(condition.describe() for condition in conditions)}): Metrika does not document how "
        "it applies such a condition to CRM data, so it is sent; check in Metrika that the goal is reached."
        for identifier, conditions in list(uncertain.items())[:_SHOWN]
    ]


def check_goals(hook: MetrikaHook, counter: int, report: OrdersReport, log: Any) -> GoalCheck:
    """Match goal-id statuses and ``goals`` identifiers with the counter's goals; warn on uncertain ones.

    Unknown identifiers are only found here: :meth:`GoalCheck.enforce` refuses or warns about them.

    :param hook: the Metrika hook.
    :param counter: the counter uploaded to.
    :param report: the preparation report (its status and goal counts).
    :param log: the task's logger.
    """
    # The orders core (pyarrow) loads when a task runs, not when a DAG file is parsed.
    from airflow_provider_metrika.simple_orders.notices import goal_statuses

    statuses = goal_statuses(report.status_counts)
    named = dict(report.goal_counts)
    if not statuses and not named:
        return GoalCheck()
    try:
        goals = JavaScriptGoals.from_goals(hook.get_goals(counter))
    except MetrikaAccessDeniedError:
        log.warning(
            "order_status values %s and goals column identifiers %s are sent as JavaScript goal "
            "identifiers, unchecked: the token cannot "
            "read counter %s's goals (403: it lacks the metrika:read scope, or its owner has no access to "
            "the counter). Check them in Metrika's goal settings, or map CRM statuses with status_map=.",
            _counts(statuses) or "-",
            _counts(named, "order") or "-",
            counter,
        )
        return GoalCheck()
    by_status, by_goal = goals.match(statuses), goals.match(named)
    _report_matches(log, counter, statuses, named, by_status, by_goal)
    unknown = {status: statuses[status] for status in statuses if status in by_status.unmatched}
    unknown_goals = {goal: named[goal] for goal in named if goal in by_goal.unmatched}
    return GoalCheck(
        checked=True,
        unknown_statuses=unknown,
        unknown_goals=unknown_goals,
        uncertain={
            identifier: [condition.describe() for condition in conditions]
            for identifier, conditions in (by_status.uncertain | by_goal.uncertain).items()
        },
        messages=(
            unknown_goal_message(counter, unknown, goals) if unknown else None,
            unknown_goals_message(counter, unknown_goals, goals) if unknown_goals else None,
        ),
    )


def _report_matches(
    log: Any,
    counter: int,
    statuses: dict[str, int],
    named: dict[str, int],
    by_status: GoalMatches,
    by_goal: GoalMatches,
) -> None:
    """Log what reached a goal for certain, and warn about each uncertain match."""
    reached = {status: statuses[status] for status in statuses if status in by_status.reached}
    if reached:
        log.info("order_status values %s are JavaScript goals of counter %s", _counts(reached), counter)
    reached_goals = {goal: named[goal] for goal in named if goal in by_goal.reached}
    if reached_goals:
        log.info(
            "goals column: identifiers %s are JavaScript goals of counter %s",
            _counts(reached_goals, "order"),
            counter,
        )
    for line in _uncertain_lines("order_status", by_status.uncertain) + _uncertain_lines(
        "goals identifier", by_goal.uncertain
    ):
        log.warning("%s", line)
