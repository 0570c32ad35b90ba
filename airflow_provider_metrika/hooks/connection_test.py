"""The texts of a connection test: what works with this token on the counter, and what to fix."""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika.constants import DEFAULT_API_URL
from airflow_provider_metrika.exceptions import (
    MetrikaApiError,
    MetrikaAuthenticationError,
    MetrikaConnectionError,
    MetrikaError,
    MetrikaNotFoundError,
)
from airflow_provider_metrika.hooks.access import (
    COUNTER_CALL,
    TIMEZONE_HINT,
    UPLOADINGS_CALL,
    access_denied_causes,
    unauthorized_advice,
)

#: Said when the connection names no counter: each task gives its own.
FROM_THE_TASK = (
    "No 'Default counter ID': each task names its counter (counter_id=), so the test checked the token alone."
)


def failure_text(exc: MetrikaError, counter: int | None, base_url: str, who: str) -> str:
    """Say why the test's reads failed, and what to fix."""
    if isinstance(exc, MetrikaAuthenticationError):
        return unauthorized_advice(who)
    if isinstance(exc, MetrikaNotFoundError) and counter is not None:
        return (
            f"Counter {counter} was not found (404) at {base_url}. Check 'Default counter ID', and "
            f"that 'API base URL' is Metrika's API (empty means {DEFAULT_API_URL})."
        )
    if isinstance(exc, MetrikaConnectionError):
        return (
            f"Could not reach {base_url}. Check 'API base URL' (empty means {DEFAULT_API_URL}) "
            "and the network."
        )
    if counter is None and (isinstance(exc, MetrikaNotFoundError) or not isinstance(exc, MetrikaApiError)):
        return (
            f"{base_url} did not answer the list of counters as Metrika does ({first_line(exc)[:200]}). "
            f"Check that 'API base URL' is Metrika's API (empty means {DEFAULT_API_URL})."
        )
    return first_line(exc)


_UPLOADS_UNTESTED = (
    "Uploads need metrika:offline_data or metrika:write; the test uploads nothing, so it cannot check "
    "that scope."
)


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def token_verdict(counters: list[dict[str, Any]] | None, who: str) -> tuple[bool, str]:
    """Say what the token can do when the connection names no counter, from the counters list.

    :param counters: the counters the token may use, or None when Metrika refused the list (403).
    :param who: how messages name the connection.
    """
    if counters is None:
        return False, (
            f"{FROM_THE_TASK} Metrika refused the list of counters (403): the token lacks metrika:read, "
            f"or it is expired or revoked, and without a counter nothing else can be checked. Add a "
            f"'Default counter ID' to {who} to test an upload-only token (metrika:offline_data) on it."
        )
    ids = [str(counter.get("id")) for counter in counters]
    shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
    reach = f"the counters it reaches include {shown}" if ids else "it reaches no counter yet"
    return True, f"Token accepted; {reach}. {FROM_THE_TASK} " + _UPLOADS_UNTESTED


def connection_verdict(counter: int, info: dict[str, Any] | None, listed: bool, who: str) -> tuple[bool, str]:
    """Say what works with this token on ``counter``, from the two reads of the test."""
    if info is not None and listed:
        name = info.get("name") or info.get("site") or "no name"
        return True, (
            f"Connected: counter {counter} ({name}), time zone {info.get('time_zone_name')}. "
            "Token accepted; counter settings readable (metrika:read); uploadings list readable. "
            + _UPLOADS_UNTESTED
        )
    if listed:
        return True, (
            f"Usable for uploads to counter {counter}: the token is accepted and the uploadings list "
            "is readable (waiting for validation works). It cannot read the counter's settings (403: "
            f"the token lacks metrika:read), so a task that needs the counter's time zone fails: "
            f"{TIMEZONE_HINT}; or issue a token with metrika:read as well. " + _UPLOADS_UNTESTED
        )
    if info is not None:
        return False, (
            f"Counter {counter} is readable (time zone {info.get('time_zone_name')}), but Metrika "
            "refused its uploadings list (403). The causes that fit: "
            + "; ".join(access_denied_causes(UPLOADINGS_CALL, str(counter), who)[:1])
            + ". Without that list, waiting for validation (the sensor, wait_for_validation=True) fails. "
            + _UPLOADS_UNTESTED
        )
    causes = access_denied_causes(COUNTER_CALL, str(counter), who)
    causes[0] = (
        "the token lacks the scopes: metrika:read to read the counter, and metrika:offline_data or "
        "metrika:write to upload (a token with metrika:offline_data alone is refused both reads when "
        "the uploadings list needs metrika:read, which Metrika does not document)"
    )
    return False, (
        f"Metrika refused both counter {counter}'s settings and its uploadings list (403), so "
        "nothing can be done with this token on that counter as it stands. The causes that fit: "
        + "; ".join(f"({n}) {cause}" for n, cause in enumerate(causes, start=1))
        + "."
    )
