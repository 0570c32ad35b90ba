"""Plain-HTTP calls to the emulated Metrika API, shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import SAMPLE_CSV as SAMPLE_CSV  # Metrika's official sample, one copy for all tests

TOKEN = "test-token"
LIMITED_TOKEN = "limited-token"
COUNTER = 12345
OTHER_COUNTER = 67890
UNKNOWN_COUNTER = 555
OTHER_TIME_ZONE = "Asia/Yekaterinburg"


def auth(token: str | None = TOKEN) -> dict[str, str]:
    """Return the Authorization header for ``token``; none for ``None``."""
    return {} if token is None else {"Authorization": f"OAuth {token}"}


class MetrikaApi:
    """Calls the emulated API the way a client would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def upload(
        self,
        content: bytes,
        *,
        merge_mode: str | None = "SAVE",
        delimiter_type: str | None = None,
        token: str | None = TOKEN,
        counter: int = COUNTER,
        filename: str = "data.csv",
        timeout: float = 10.0,
    ) -> requests.Response:
        params = {"merge_mode": merge_mode, "delimiter_type": delimiter_type}
        return requests.post(
            f"{self.base_url}/cdp/api/v1/counter/{counter}/data/simple_orders",
            params={k: v for k, v in params.items() if v is not None},
            headers=auth(token),
            files={"file": (filename, content, "text/csv")},
            timeout=timeout,
        )

    def uploading(self, content: bytes, **kwargs: Any) -> dict[str, Any]:
        """Upload and return the ``uploading`` object, asserting HTTP 200."""
        response = self.upload(content, **kwargs)
        assert response.status_code == 200, response.text
        uploading: dict[str, Any] = response.json()["uploading"]
        return uploading

    def last_uploadings(
        self, *, token: str | None = TOKEN, counter: int = COUNTER, timeout: float = 10.0, **params: Any
    ) -> requests.Response:
        return requests.get(
            f"{self.base_url}/cdp/api/v1/counter/{counter}/last_uploadings",
            params=params,
            headers=auth(token),
            timeout=timeout,
        )

    def listed(self, **params: Any) -> list[dict[str, Any]]:
        """Return the ``uploadings`` list, asserting HTTP 200."""
        response = self.last_uploadings(**params)
        assert response.status_code == 200, response.text
        uploadings: list[dict[str, Any]] = response.json()["uploadings"]
        return uploadings

    def counter(
        self, *, token: str | None = TOKEN, counter: int = COUNTER, timeout: float = 10.0
    ) -> requests.Response:
        return requests.get(
            f"{self.base_url}/management/v1/counter/{counter}", headers=auth(token), timeout=timeout
        )


def error_of(response: requests.Response) -> tuple[int, str]:
    """Return ``(status, error_type)`` after checking the body has Metrika's error shape."""
    body = response.json()
    assert body["code"] == response.status_code
    assert isinstance(body["message"], str)
    assert body["message"]
    (error,) = body["errors"]
    assert set(error) == {"error_type", "message", "location"}
    return response.status_code, error["error_type"]


def csv_bytes(*lines: str) -> bytes:
    """Join lines into a UTF-8 CSV file ending with a newline."""
    return ("\n".join(lines) + "\n").encode()
