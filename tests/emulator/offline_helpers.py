"""Plain-HTTP calls to the emulated offline conversions and calls API, shared by its tests."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.emulator.helpers import COUNTER, TOKEN, auth

PREFIX = "/management/v1/counter/{counter}/offline_conversions"
#: A moment safely in the past, as Unix seconds.
# The start of a UTC day three days ago: the same in every process of a test run (xdist workers
# collect the parametrized tests that carry it and must agree on their ids).
PAST = (int(time.time()) // 86_400 - 3) * 86_400


class OfflineApi:
    """Calls the emulated offline API the way a client would; ``kind`` is ``conversions`` or ``calls``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def url(self, path: str, counter: int = COUNTER) -> str:
        return self.base_url + PREFIX.format(counter=counter) + path

    def upload(
        self,
        content: bytes,
        *,
        kind: str = "conversions",
        token: str | None = TOKEN,
        counter: int = COUNTER,
        **params: Any,
    ) -> requests.Response:
        path = "/upload" if kind == "conversions" else "/upload_calls"
        return requests.post(
            self.url(path, counter),
            params={k: v for k, v in params.items() if v is not None},
            headers=auth(token),
            files={"file": ("data.csv", content, "text/csv")},
            timeout=10,
        )

    def uploading(self, content: bytes, **kwargs: Any) -> dict[str, Any]:
        """Upload and return the ``uploading`` object, asserting HTTP 200."""
        response = self.upload(content, **kwargs)
        assert response.status_code == 200, response.text
        uploading: dict[str, Any] = response.json()["uploading"]
        return uploading

    def get(
        self, path: str, *, token: str | None = TOKEN, counter: int = COUNTER, **params: Any
    ) -> requests.Response:
        return requests.get(self.url(path, counter), params=params, headers=auth(token), timeout=10)

    def status(self, uploading_id: int, kind: str = "conversions") -> dict[str, Any]:
        path = "/uploading/" if kind == "conversions" else "/calls_uploading/"
        response = self.get(f"{path}{uploading_id}")
        assert response.status_code == 200, response.text
        uploading: dict[str, Any] = response.json()["uploading"]
        return uploading

    def listed(self, kind: str = "conversions", **params: Any) -> list[dict[str, Any]]:
        response = self.get("/uploadings" if kind == "conversions" else "/calls_uploadings", **params)
        assert response.status_code == 200, response.text
        uploadings: list[dict[str, Any]] = response.json()["uploadings"]
        return uploadings
