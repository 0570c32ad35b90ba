"""What the offline conversions and calls operators check: before sending (goals, window), and after."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaLinkageFailureError,
    MetrikaRowsDroppedError,
    MetrikaUnknownTargetError,
    MetrikaWindowNotOpenError,
)
from airflow_provider_metrika.javascript_goals import JavaScriptGoals

#: Uploads whose processing linked nothing end so; a file of static calls only always does.
LINKAGE_FAILURE = "LINKAGE_FAILURE"


def check_targets(hook: Any, counter: int, targets: dict[str, int], log: Any) -> None:
    """
    Refuse ``Target`` values that reach none of the counter's JavaScript-event goals.

    A value met only by a ``contain``, ``start`` or ``regexp`` condition is sent with a warning:
    Metrika documents the ``Target`` as the identifier of a goal with the "matches" condition.

    :param hook: the Metrika hook.
    :param counter: the counter.
    :param targets: rows per ``Target``.
    :param log: the task's log.
    :raises MetrikaUnknownTargetError: listing the unknown values and the counter's goals.
    """
    try:
        goals = JavaScriptGoals.from_goals(hook.get_goals(counter))
    except MetrikaAccessDeniedError:
        log.warning(
            "Target values %s are sent unchecked: the token cannot read counter %s's goals (403: it "
            "lacks metrika:read). Check them in Metrika's goal settings.",
            ", ".join(sorted(targets)),
            counter,
        )
        return
    found = goals.match(targets)
    for target, conditions in found.uncertain.items():
        log.warning(
            "Target %r reaches a goal only by %s: Metrika links an offline conversion to a goal whose "
            "identifier matches exactly, so it may not count",
            target,
            "; ".join(condition.describe() for condition in conditions),
        )
    if found.unmatched:
        unknown = ", ".join(f"{t!r} ({targets[t]:,} rows)" for t in sorted(found.unmatched))
        hints = " ".join(goals.numeric_hints(found.unmatched))
        raise MetrikaUnknownTargetError(
            f"Counter {counter} has no JavaScript-event goal for Target {unknown}; nothing was sent "
            f"(Metrika would not count these conversions). The counter's goals: {goals.describe()}. "
            f"Use a goal's identifier as Target, or create a JavaScript-event goal with the "
            f"'matches' condition for it.{' ' + hints if hints else ''}"
        )


def check_window(opens: date, counter: int, zone: str, noun: str) -> None:
    """
    Refuse an upload made before the counter's window for offline data opens.

    :param opens: the day Metrika names (``visit_join_threshold``).
    :param counter: the counter.
    :param zone: the counter's time zone, in which "today" is read.
    :param noun: ``offline conversions`` or ``calls``.
    :raises MetrikaWindowNotOpenError: naming the day the window opens.
    """
    today = datetime.now(ZoneInfo(zone)).date()
    if today < opens:
        raise MetrikaWindowNotOpenError(
            f"Counter {counter} accepts {noun} from {opens.isoformat()} (its visit_join_threshold; "
            f"today is {today.isoformat()} in {zone}): Metrika would refuse the upload, so nothing was "
            "sent. Run again from that day."
        )


def processing_figures(uploadings: list[dict[str, Any]]) -> dict[str, Any]:
    """Return rows sent, kept and linked, summed over the uploads, with their statuses."""

    def total(field: str) -> int | None:
        values = [u.get(field) for u in uploadings]
        return None if any(v is None for v in values) else sum(int(v) for v in values if v is not None)

    return {
        "rows_sent": total("source_quantity"),
        "rows_kept": total("line_quantity"),
        "rows_linked": total("linked_quantity"),
        "statuses": {str(u.get("id")): u.get("status") for u in uploadings},
    }


def check_dropped(figures: dict[str, Any], max_dropped_fraction: float, counter: int, log: Any) -> None:
    """
    Fail when Metrika kept fewer rows than were sent, beyond ``max_dropped_fraction``.

    :raises MetrikaRowsDroppedError: naming how many rows were dropped and where to look.
    """
    sent, kept = figures["rows_sent"], figures["rows_kept"]
    if sent is None or kept is None:
        return
    dropped = sent - kept
    log.info("Metrika kept %s of %s rows sent to counter %s", f"{kept:,}", f"{sent:,}", counter)
    if dropped <= 0:
        return
    message = (
        f"Metrika dropped {dropped:,} of {sent:,} rows sent to counter {counter} (line_quantity "
        f"{kept:,} of source_quantity {sent:,}): it skips rows it finds invalid without saying which. "
        "Look at the uploaded file (archive_path= keeps it) for identifiers or times Metrika reads "
        "differently, and at the counter's offline conversions page."
    )
    if dropped > max_dropped_fraction * sent:
        raise MetrikaRowsDroppedError(
            f"{message} The task fails above max_dropped_fraction={max_dropped_fraction:g}."
        )
    log.warning("%s Allowed by max_dropped_fraction=%g.", message, max_dropped_fraction)


def check_linkage(uploadings: list[dict[str, Any]], counter: int, log: Any) -> None:
    """
    Fail on ``LINKAGE_FAILURE``, except an upload whose every call was static (never linked, still reported).

    Each upload is judged on its own: calls split into parts may put only static calls in one.

    :raises MetrikaLinkageFailureError: naming the uploads and why a row may not link.
    """
    unlinked = [u for u in uploadings if str(u.get("status")).upper() == LINKAGE_FAILURE]
    static = [u for u in unlinked if u.get("dynamic_calls_quantity") == 0]
    if static:
        log.info(
            "Uploads %s ended %s: every call in them was static, which Metrika never links to visits "
            "but still reports",
            ", ".join(str(u.get("id")) for u in static),
            LINKAGE_FAILURE,
        )
    failed = [str(u.get("id")) for u in unlinked if u not in static]
    if not failed:
        return
    raise MetrikaLinkageFailureError(
        f"Metrika processed uploads {', '.join(failed)} on counter {counter} and linked none of their "
        f"rows to visits ({LINKAGE_FAILURE}). A row links when its visitor's visit is within 21 days "
        "of processing and its identifier is one the counter sees (ClientId from the site's tag, "
        "UserId set with setUserID, yclid from Direct clicks)."
    )
