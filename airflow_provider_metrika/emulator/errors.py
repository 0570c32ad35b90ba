"""Metrika's error answer: the exception handlers raise and the JSON body it becomes."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web


def error_body(status: int, error_type: str, message: str, location: str = "") -> dict[str, object]:
    """Build the body Metrika sends with every error.

    :param status: HTTP status, repeated as ``code``.
    :param error_type: Metrika's ``error_type``, e.g. ``invalid_parameter``.
    :param message: human-readable explanation.
    :param location: the parameter or part the error is about, if any.
    """
    return {
        "errors": [{"error_type": error_type, "message": message, "location": location}],
        "code": status,
        "message": message,
    }


def error_response(
    status: int,
    error_type: str,
    message: str,
    location: str = "",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """Answer with a Metrika error body and a matching HTTP status.

    :param status: HTTP status.
    :param error_type: Metrika's ``error_type``.
    :param message: human-readable explanation.
    :param location: the parameter or part the error is about, if any.
    :param headers: extra response headers, e.g. ``Retry-After``.
    """
    return web.json_response(
        error_body(status, error_type, message, location), status=status, headers=headers
    )


class ApiError(Exception):
    """An API request that must be answered with a Metrika error.

    :param status: HTTP status.
    :param error_type: Metrika's ``error_type``.
    :param message: human-readable explanation.
    :param location: the parameter or part the error is about, if any.
    """

    def __init__(self, status: int, error_type: str, message: str, location: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.location = location

    def to_response(self) -> web.Response:
        """Render the error as Metrika's JSON answer."""
        return error_response(self.status, self.error_type, self.message, self.location)
