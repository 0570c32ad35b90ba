"""
What a failed upload request says about the upload: one table, used by the engine and the docs.

Only an explicit refusal means nothing was stored: a quota answer (429; 420 of older docs with a
``quota_*`` error type) or a connection that was never opened. Any other answer of 400 to 499 is
Metrika's verdict on the request: nothing stored, and sending it again would get the same answer.
Every other failure after the body started to go out (5xx, a reset, a read timeout) may have
come after Metrika stored the file: it is a lost answer, resolved before anything is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from airflow_provider_metrika.exceptions import MetrikaApiError, MetrikaConnectionError


class Failure(Enum):
    """What a failed upload request means."""

    #: Metrika refused it before acting: nothing stored; send again after a backoff.
    REFUSED = "refused"
    #: Metrika answered with a verdict on the request: nothing stored; do not send again.
    REJECTED = "rejected"
    #: The answer was lost: Metrika may have stored the file; resolve before sending again.
    LOST = "lost"


@dataclass(frozen=True)
class FailureRule:
    """
    One row of the table.

    :param what: the failure, as a reader names it.
    :param failure: what it means.
    :param action: what the engine does.
    """

    what: str
    failure: Failure
    action: str


_RESOLVE = (
    "look for the upload by its unique name; adopt it if listed, else send again only when that is "
    "harmless (SAVE / UPDATE, every row with an id), else stop without retry"
)

#: The table, in the order :func:`classify` reads it.
FAILURE_RULES: tuple[FailureRule, ...] = (
    FailureRule("429, or 420 with a `quota_*` error type (quota)", Failure.REFUSED, "back off, send again"),
    FailureRule(
        "connection never opened (refused, DNS, connect timeout)", Failure.REFUSED, "back off, send again"
    ),
    FailureRule(
        "any other 4xx (400, 401, 403, 404, 406, 409, 420 without a quota type)",
        Failure.REJECTED,
        "fail with Metrika's message; nothing to resolve",
    ),
    FailureRule("500, 502, 503, 504", Failure.LOST, _RESOLVE),
    FailureRule("connection reset or closed after the body started", Failure.LOST, _RESOLVE),
    FailureRule("no answer within the timeout", Failure.LOST, _RESOLVE),
)


def classify(exc: BaseException) -> Failure:
    """
    Return what a failure of an upload request means.

    :param exc: the exception the request raised.
    """
    if isinstance(exc, MetrikaApiError):
        status = exc.http_status
        if status == 429 or (status == 420 and (exc.error_type or "").startswith("quota")):
            return Failure.REFUSED
        if 400 <= status < 500:
            return Failure.REJECTED
        return Failure.LOST
    if isinstance(exc, MetrikaConnectionError):
        return Failure.LOST if exc.request_sent else Failure.REFUSED
    return Failure.LOST


def is_refused(exc: BaseException) -> bool:
    """Tell whether an upload request failed in a way that proves Metrika did not store it."""
    return classify(exc) is Failure.REFUSED


def render_failure_table() -> str:
    """Render the table as Markdown, for the README and the docs."""
    lines = ["| failure of an upload request | means | what the provider does |", "|---|---|---|"]
    lines += [f"| {rule.what} | {rule.failure.value} | {rule.action} |" for rule in FAILURE_RULES]
    return "\n".join(lines)


def describe_failure(exc: BaseException) -> str:
    """Summarise a failure for a log line: ``HTTP 503 backend_error``, or the exception's class.

    A connection error's own text is kept: it names the host and the reason, never a header.

    :param exc: the failure.
    """
    if isinstance(exc, MetrikaApiError):
        return f"HTTP {exc.http_status} {exc.error_type or ''}".rstrip()
    return str(exc) if isinstance(exc, MetrikaConnectionError) else type(exc).__name__
