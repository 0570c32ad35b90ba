"""Paging back through ``last_uploadings`` to find uploadings by id or title (Metrika has no per-id call)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_metrika.constants import MAX_LIST_LIMIT, MAX_LIST_PAGES
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

_WIRE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class UploadingsSearch:
    """
    The state of one walk back through a counter's uploadings, shared by sync and async callers.

    Call :meth:`next_params` for the next request's ``limit`` / ``datetime_offset`` (None when
    done) and :meth:`feed` with the page it returned.

    Metrika's ``datetime`` has second precision and ``datetime_offset`` means "strictly older",
    so the next page starts one second after the oldest uploading seen: uploadings of that same
    second are listed again and de-duplicated by id, never skipped.

    :param uploading_ids: the ids looked for.
    :param not_before: stop once the list is older than this (UTC); None pages until ``max_pages``.
    :param page_size: uploadings per request.
    :param max_pages: the most requests.
    :param title: also look for the uploading whose ``uploading_title`` is exactly this (a name
        unique to one upload); found, it is :attr:`titled`.
    """

    def __init__(
        self,
        uploading_ids: Iterable[str],
        *,
        not_before: str | datetime | None = None,
        page_size: int = 100,
        max_pages: int = 10,
        title: str | None = None,
    ) -> None:
        self.wanted = _checked_ids(uploading_ids)
        self.title = title
        self.titled: dict[str, Any] | None = None
        self.found: dict[str, dict[str, Any]] = {}
        self.not_before = self._read_datetime("not_before", not_before) if not_before is not None else None
        self.page_size = _checked_count("page_size", page_size, MAX_LIST_LIMIT)
        self.max_pages = _checked_count("max_pages", max_pages, MAX_LIST_PAGES)
        self.pages = 0
        self._seen: set[str] = set()
        self._offset: datetime | None = None
        self._done = not self.wanted and title is None

    @staticmethod
    def parse_datetime(value: str | datetime) -> datetime:
        """Read a Metrika ``datetime`` (``2022-12-29T18:02:01Z``) or a datetime, as aware UTC."""
        if isinstance(value, datetime):
            parsed = value
        else:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)

    @classmethod
    def _read_datetime(cls, name: str, value: Any) -> datetime:
        try:
            return cls.parse_datetime(value)
        except (TypeError, ValueError, AttributeError):
            raise MetrikaInvalidArgumentError(
                f"{name} must be a datetime or an ISO date-time such as 2024-01-10T10:00:00Z; got "
                f"{str(value)[:100]!r}"
            ) from None

    @classmethod
    def format_datetime(cls, value: str | datetime) -> str:
        """Write a datetime the way ``datetime_offset`` takes it (UTC, seconds, ``Z``)."""
        return cls._read_datetime("datetime_offset", value).strftime(_WIRE_FORMAT)

    def next_params(self) -> dict[str, Any] | None:
        """Return the keyword arguments of the next ``list_uploadings`` call, or None when done."""
        if self._done or self.pages >= self.max_pages:
            return None
        params: dict[str, Any] = {"limit": self.page_size}
        if self._offset is not None:
            params["datetime_offset"] = self._offset.strftime(_WIRE_FORMAT)
        return params

    def feed(self, page: list[dict[str, Any]]) -> None:
        """
        Take one page of uploadings, newest first.

        :param page: what ``list_uploadings`` returned for :meth:`next_params`.
        """
        self.pages += 1
        new = [u for u in page if str(u.get("uploading_id")) not in self._seen]
        for uploading in new:
            uploading_id = str(uploading.get("uploading_id"))
            self._seen.add(uploading_id)
            if uploading_id in self.wanted:
                self.found[uploading_id] = uploading
            if (
                self.title is not None
                and self.titled is None
                and uploading.get("uploading_title") == self.title
            ):
                self.titled = uploading
        oldest = self._oldest(page)
        if (
            len(page) < self.page_size
            or oldest is None
            or (self.wanted <= self.found.keys() and (self.title is None or self.titled is not None))
            or (self.not_before is not None and oldest < self.not_before)
        ):
            self._done = True
            return
        overlapping = oldest + timedelta(seconds=1)
        if new and overlapping != self._offset:
            self._offset = overlapping
        elif self._offset != oldest:
            # The overlap brought nothing new (a full page within one second): step strictly past it.
            self._offset = oldest
        else:
            self._done = True

    def _oldest(self, page: list[dict[str, Any]]) -> datetime | None:
        stamps = []
        for uploading in page:
            try:
                stamps.append(self.parse_datetime(str(uploading["datetime"])))
            except (KeyError, ValueError):
                continue
        return min(stamps) if stamps else None


def _checked_ids(uploading_ids: Any) -> set[str]:
    """Return the wanted ids; refuse a bare string (its letters are no ids) and empty or odd ids."""
    if isinstance(uploading_ids, str | bytes) or not isinstance(uploading_ids, Iterable):
        raise MetrikaInvalidArgumentError(
            f"uploading_ids must be a list of uploading ids; got {type(uploading_ids).__name__}"
        )
    wanted = set()
    for index, value in enumerate(uploading_ids):
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise MetrikaInvalidArgumentError(
                f"uploading_ids[{index}] must be a non-empty uploading id (text); got {str(value)[:100]!r}"
            )
        wanted.add(value)
    return wanted


def _checked_count(name: str, value: Any, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise MetrikaInvalidArgumentError(f"{name} must be an integer from 1 to {most:,}; got {value!r}")
    return value
