"""Exceptions raised by the Metrika provider; callers act on their types, never on message text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_metrika._compat import AirflowException, AirflowFailException


class MetrikaError(AirflowException):
    """Base class of every error this provider raises."""


class MetrikaInvalidArgumentError(MetrikaError, ValueError):
    """An argument or connection setting is wrong; raised before any request is sent."""


class MetrikaUnknownGoalStatusError(MetrikaInvalidArgumentError):
    """Order statuses would be sent as JavaScript goal identifiers the counter does not have."""


class MetrikaUnknownGoalError(MetrikaInvalidArgumentError):
    """The ``goals`` column names JavaScript goal identifiers the counter does not have."""


class MetrikaFileTooLargeError(MetrikaInvalidArgumentError):
    """The file is over Metrika's 1 GB limit for one upload."""


class MetrikaConnectionError(MetrikaError):
    """
    The API could not be reached, or the connection broke before an answer came.

    :param message: what failed, without request headers.
    :param request_sent: False when the request surely never reached the server (connect failed).
    """

    def __init__(self, message: str, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class MetrikaUploadUncertainError(MetrikaError, AirflowFailException):
    """
    An upload was sent, its answer was lost, and it is not listed: Metrika may or may not have it.

    Sending it again is not idempotent (rows without an id, or ``APPEND``), so the task fails
    without retries: a person checks Metrika, then resolves the upload (``python -m
    airflow_provider_metrika.delivery resolve``) or re-sends it once with ``force_resend``.

    :param message: what was sent, when, and how to check.
    """


class MetrikaSourceChangedError(MetrikaError, AirflowFailException):
    """
    A retry re-read its source and would send other bytes than its first attempt planned, after
    parts that cannot be sent twice harmlessly were sent: it refuses before sending anything.

    :param message: what changed, what was sent, and how to proceed.
    """


class MetrikaStagedPartMissingError(MetrikaError, AirflowFailException):
    """
    A retry must send a part's staged copy (``archive_path=``), and that copy cannot be read.

    Retrying would not bring it back: the message names where it was kept, that every worker must
    reach that place and that it must outlive the retries, and the commands that resolve the upload.
    """


class MetrikaSyncStateError(MetrikaError, AirflowFailException):
    """
    A ``changed_only`` task's sync state cannot be used: written for another counter, API host or
    column set, or damaged. Retrying would not help: the message says which argument fixes it.
    """


class MetrikaApiError(MetrikaError):
    """
    Metrika answered with an HTTP error.

    :param status_code: the HTTP status (kept as ``http_status``).
    :param error_type: Metrika's ``error_type`` of the first error (``unauthorized``, ``not_found`` ...).
    :param message: Metrika's message.
    :param errors: every entry of Metrika's ``errors`` list.
    :param retry_after: seconds the server asked to wait, when it sent ``Retry-After``.
    :param advice: what the error means for the call that got it and how to fix it (401 / 403).
    """

    def __init__(
        self,
        status_code: int,
        error_type: str | None,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        advice: str | None = None,
    ) -> None:
        self.http_status = status_code
        self.error_type = error_type
        self.message = message
        self.errors = errors or []
        self.retry_after = retry_after
        self.advice = advice
        kind = f" {error_type}" if error_type else ""
        text = f"Metrika API error {status_code}{kind}: {message}"
        super().__init__(f"{text}\n{advice}" if advice else text)

    def with_advice(self, advice: str) -> MetrikaApiError:
        """Return a copy of this error, of the same class, whose message ends with ``advice``."""
        return type(self)(
            self.http_status, self.error_type, self.message, self.errors, self.retry_after, advice
        )


class MetrikaBadRequestError(MetrikaApiError):
    """HTTP 400: a parameter or the uploaded file is invalid; re-sending the same request cannot help."""


class MetrikaAuthenticationError(MetrikaApiError):
    """HTTP 401: the OAuth token is missing or invalid."""


class MetrikaAccessDeniedError(MetrikaApiError):
    """
    HTTP 403: the token lacks the scope the call needs, its owner has no access to the counter, or it
    is expired or revoked (Metrika does not say which; ``advice`` names the causes that fit).
    """


class MetrikaNotFoundError(MetrikaApiError):
    """HTTP 404: the counter (or path) does not exist."""


class MetrikaQuotaExceededError(MetrikaApiError):
    """HTTP 420 or 429: a request quota is exhausted; retry after a pause."""


class MetrikaServerError(MetrikaApiError):
    """HTTP 5xx: Metrika failed or timed out."""


class MetrikaUploadingFailedError(MetrikaError):
    """Metrika checked an uploading and reported ``api_validation_status`` FAILED."""


class MetrikaRowsDroppedError(MetrikaUploadingFailedError, AirflowFailException):
    """Metrika kept fewer rows of an offline upload than were sent, beyond ``max_dropped_fraction``.

    Not retried: the upload is stored, and a retry would find it accepted and judge it the same.
    """


class MetrikaLinkageFailureError(MetrikaUploadingFailedError, AirflowFailException):
    """Metrika processed an offline upload and linked none of its rows (``LINKAGE_FAILURE``)."""


class MetrikaUnknownTargetError(MetrikaInvalidArgumentError):
    """Offline conversions name a ``Target`` that is no JavaScript-event goal of the counter."""


class MetrikaWindowNotOpenError(MetrikaInvalidArgumentError):
    """The counter does not accept offline conversions (or calls) yet: its window opens later."""


class MetrikaReplaceUnsettledError(MetrikaError):
    """An expenses request's answer was lost and it is not listed yet: the next try settles it first.

    Retried: every try of a replace waits until Metrika has processed what earlier tries sent (found
    by its comment), then deletes the days and uploads again.
    """


class MetrikaUploadingTimeoutError(MetrikaError):
    """An uploading was still not PASSED or FAILED when the wait's deadline passed."""


_ERROR_CLASSES: Mapping[int, type[MetrikaApiError]] = {
    400: MetrikaBadRequestError,
    401: MetrikaAuthenticationError,
    403: MetrikaAccessDeniedError,
    404: MetrikaNotFoundError,
    420: MetrikaQuotaExceededError,
    429: MetrikaQuotaExceededError,
}


def api_error_from_response(
    status_code: int, body: str | bytes, retry_after: float | None = None
) -> MetrikaApiError:
    """
    Build the typed exception for an HTTP error answer, parsing Metrika's error body.

    :param status_code: the HTTP status of the answer.
    :param body: the answer's body; Metrika sends ``{"errors": [...], "code": ..., "message": ...}``.
    :param retry_after: seconds from a ``Retry-After`` header, if any.
    """
    errors: list[dict[str, Any]] = []
    message = ""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        raw_errors = parsed.get("errors")
        if isinstance(raw_errors, list):
            errors = [e for e in raw_errors if isinstance(e, dict)]
        message = str(parsed.get("message") or "")
    if not message and errors:
        message = str(errors[0].get("message") or "")
    if not message:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        message = text.strip()[:300] or "no error message in the answer"
    error_type = str(errors[0]["error_type"]) if errors and errors[0].get("error_type") else None
    if status_code >= 500:
        cls: type[MetrikaApiError] = MetrikaServerError
    else:
        cls = _ERROR_CLASSES.get(status_code, MetrikaApiError)
    return cls(status_code, error_type, message, errors, retry_after)


class MetrikaMissingExtraError(MetrikaError, AirflowFailException):
    """
    A feature needs a provider package that is not installed; a retry would not install it.

    :param message: the feature, the missing package and the ``pip install`` line that adds it.
    """
