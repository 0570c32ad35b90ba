"""What a 401 or 403 from Metrika means for the call that got it, and what to do about it.

Metrika's 403 body says only "Access is denied": the missing scope, no access to the counter and an
expired or revoked token all look alike. So every message names each cause that fits the call, with
the scope that call needs. Which scope ``last_uploadings`` needs is not documented (*unconfirmed*):
a 403 there is described as possibly a missing ``metrika:read``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaApiError,
    MetrikaAuthenticationError,
)

READ_SCOPE = "metrika:read"
WRITE_SCOPE = "metrika:write"
OFFLINE_DATA_SCOPE = "metrika:offline_data"
EXPENSES_SCOPE = "metrika:expenses"
#: The token the documentation recommends: uploads, and the reads that the operator and the sensor make.
RECOMMENDED_SCOPES = f"{OFFLINE_DATA_SCOPE} and {READ_SCOPE} (or {WRITE_SCOPE} and {READ_SCOPE})"
#: Metrika's ``error_type`` of a 403 that is about the token itself.
INVALID_TOKEN = "invalid_token"
#: The argument that spares the operator its counter read.
TIMEZONE_HINT = (
    "pass timezone= (the counter's time zone, as shown in its settings) to "
    "SimpleOrdersUploadOperator so that the counter is not read"
)


@dataclass(frozen=True)
class ApiCall:
    """
    One kind of Metrika request, as far as access goes.

    :param does: what the request does, for messages ("upload orders").
    :param scopes: the scopes any one of which allows it.
    :param confirmed: whether Metrika's docs say so (False: a best guess, said as such).
    :param avoid: how a task can do without the request, if it can.
    """

    does: str
    scopes: tuple[str, ...]
    confirmed: bool = True
    avoid: str | None = None

    def scope_cause(self) -> str:
        """Describe the missing-scope cause of a 403 on this call."""
        needed = " or ".join(self.scopes)
        if self.confirmed:
            text = f"the token lacks {needed}, which is needed to {self.does}"
        else:
            text = (
                f"the token may lack {needed} (Metrika does not document which scope is needed to "
                f"{self.does}; {READ_SCOPE} is the likely one)"
            )
        fix = f"{self.avoid}, or " if self.avoid else ""
        return f"{text}. Fix: {fix}issue a token that also has {needed}"


UPLOAD_CALL = ApiCall("upload orders", (OFFLINE_DATA_SCOPE, WRITE_SCOPE))
COUNTER_CALL = ApiCall("read the counter's settings (its time zone)", (READ_SCOPE,), avoid=TIMEZONE_HINT)
GOALS_CALL = ApiCall(
    "read the counter's goals (to check order statuses sent as goal identifiers)",
    (READ_SCOPE,),
    avoid='pass unknown_statuses="allow" to SimpleOrdersUploadOperator',
)
UPLOADINGS_CALL = ApiCall(
    "list the counter's uploadings (last_uploadings, used to wait for validation)",
    (READ_SCOPE,),
    confirmed=False,
)
REPORTS_CALL = ApiCall(
    "read linked CRM orders from the Reports API (stat/v1/data)",
    (READ_SCOPE,),
)
OFFLINE_UPLOAD_CALL = ApiCall("upload offline conversions or calls", (OFFLINE_DATA_SCOPE, WRITE_SCOPE))
OFFLINE_READ_CALL = ApiCall(
    "read offline conversions or calls uploadings and their visit_join_threshold", (READ_SCOPE,)
)
EXPENSES_POST_CALL = ApiCall("upload or delete ad expenses", (EXPENSES_SCOPE, WRITE_SCOPE))
EXPENSES_READ_CALL = ApiCall("read expenses uploadings", (READ_SCOPE,))
#: (method, endpoint pattern) -> the call; one line per endpoint.
_CALLS: tuple[tuple[str, re.Pattern[str], ApiCall], ...] = (
    ("POST", re.compile(r"^cdp/api/v1/counter/\d+/data/simple_orders$"), UPLOAD_CALL),
    ("GET", re.compile(r"^management/v1/counter/\d+$"), COUNTER_CALL),
    ("GET", re.compile(r"^management/v1/counter/\d+/goals$"), GOALS_CALL),
    ("GET", re.compile(r"^cdp/api/v1/counter/\d+/last_uploadings$"), UPLOADINGS_CALL),
    ("GET", re.compile(r"^stat/v1/data$"), REPORTS_CALL),
    (
        "POST",
        re.compile(r"^management/v1/counter/\d+/offline_conversions/upload(_calls)?$"),
        OFFLINE_UPLOAD_CALL,
    ),
    ("GET", re.compile(r"^management/v1/counter/\d+/offline_conversions/"), OFFLINE_READ_CALL),
    ("POST", re.compile(r"^management/v1/counter/\d+/expense/(upload|delete)$"), EXPENSES_POST_CALL),
    ("GET", re.compile(r"^management/v1/counter/\d+/expense/"), EXPENSES_READ_CALL),
)
_COUNTER_IN_PATH = re.compile(r"counter/(\d+)")


def call_for(method: str, endpoint: str) -> ApiCall | None:
    """
    Return what a request is, for access messages; None for an endpoint not listed.

    :param method: the HTTP method.
    :param endpoint: the path without the base URL, e.g. ``management/v1/counter/12345``.
    """
    path = endpoint.lstrip("/").split("?", 1)[0]
    for call_method, pattern, call in _CALLS:
        if call_method == method.upper() and pattern.match(path):
            return call
    return None


def token_fix(who: str) -> str:
    """Say how to replace a token, for the connection described by ``who``."""
    return f"issue a new token with scopes {RECOMMENDED_SCOPES} and put it in the 'OAuth token' of {who}"


def unauthorized_advice(who: str) -> str:
    """Explain a 401 for the connection described by ``who`` (e.g. ``connection 'metrika_default'``)."""
    return (
        f"{who[:1].upper()}{who[1:]}: Metrika rejected the OAuth token (401): it is wrong, expired or "
        f"revoked. Fix: {token_fix(who)}."
    )


def access_denied_causes(
    call: ApiCall | None, counter: str, who: str, error_type: str | None = None
) -> list[str]:
    """
    List every cause of a 403 that fits the call, each with its fix.

    :param call: the request that was refused, if known.
    :param counter: the counter id, as text (``?`` when unknown).
    :param who: the connection, as named in messages.
    :param error_type: Metrika's ``error_type``; ``invalid_token`` leaves only the token as cause.
    """
    if error_type == INVALID_TOKEN:
        return [f"the token is expired or revoked. Fix: {token_fix(who)}"]
    causes = []
    if call is not None:
        causes.append(call.scope_cause())
    else:
        causes.append(
            f"the token lacks a scope this request needs (uploads: {OFFLINE_DATA_SCOPE} or "
            f"{WRITE_SCOPE}; reading counters: {READ_SCOPE})"
        )
    causes.append(
        f"the token's owner has no access to counter {counter}. Fix: ask the counter's owner for access"
    )
    causes.append(f"the token is expired or revoked. Fix: {token_fix(who)}")
    return causes


def access_denied_advice(call: ApiCall | None, counter: str, who: str, error_type: str | None = None) -> str:
    """Explain a 403 on ``call``: every cause that fits, numbered, each with its fix."""
    causes = access_denied_causes(call, counter, who, error_type)
    doing = f" to {call.does}" if call is not None else ""
    lines = [
        f"{who[:1].upper()}{who[1:]}: Metrika refused the request{doing} on counter {counter} (403). "
        "Metrika does not say why; the causes that fit:"
    ]
    lines += [f"  {number}. {cause}" for number, cause in enumerate(causes, start=1)]
    return "\n".join(lines)


def explain_access_error(exc: MetrikaApiError, conn_id: str, method: str, endpoint: str) -> MetrikaApiError:
    """
    Return a 401 or 403 error with advice naming the connection, the scope the call needs and the fix.

    Other errors are returned unchanged.

    :param exc: the error built from Metrika's answer.
    :param conn_id: the Airflow connection used.
    :param method: the HTTP method of the refused request.
    :param endpoint: its path without the base URL.
    """
    who = f"connection {conn_id!r}"
    if isinstance(exc, MetrikaAuthenticationError):
        advice = unauthorized_advice(who)
    elif isinstance(exc, MetrikaAccessDeniedError):
        found = _COUNTER_IN_PATH.search(endpoint)
        counter = found.group(1) if found else "?"
        advice = access_denied_advice(call_for(method, endpoint), counter, who, exc.error_type)
    else:
        return exc
    return exc.with_advice(advice)
