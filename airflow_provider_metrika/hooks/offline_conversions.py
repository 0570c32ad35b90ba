"""Offline conversions and calls: one hook method per Metrika call, mixed into ``MetrikaHook``.

Metrika's ``comment`` is echoed in every status and list object, so it is the upload's tag: callers
give each POST a unique one and find a lost upload again by it (in :meth:`list_...` answers).

The POSTs follow the rule of the simplified orders upload: only a failure that proves nothing was
stored (a quota answer, a connection never opened) is tried again; any other failure is raised as
it is, since Metrika may have stored the file (a re-sent conversion overwrites the stored one, but a
re-sent call is a second call). Reads are retried like every other GET.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import IO, Any, Protocol

from requests_toolbelt import MultipartEncoder

from airflow_provider_metrika.arguments import check_choice, check_counter_id
from airflow_provider_metrika.constants import (
    CLIENT_ID_TYPES,
    MAX_COMMENT_LENGTH,
    MAX_OFFLINE_LIST_LIMIT,
    offline_conversions_endpoint,
)
from airflow_provider_metrika.exceptions import MetrikaError, MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.retries import RetryPolicy, is_refused
from airflow_provider_metrika.hooks.upload_file import UploadFile
from airflow_provider_metrika.progress import ProgressLog

#: What Metrika documents as allowed in ``comment``: Latin and Cyrillic letters, digits.
_COMMENT_CHARACTER = re.compile(r"[0-9A-Za-zА-Яа-яЁё]")
#: (upload, one uploading, list, threshold) of each kind.
_CONVERSIONS = ("upload", "uploading", "uploadings", "visit_join_threshold")
_CALLS = ("upload_calls", "calls_uploading", "calls_uploadings", "calls_visit_join_threshold")

UploadSource = str | os.PathLike[str] | IO[bytes] | UploadFile


class _Hook(Protocol):
    """What the mixin uses of ``MetrikaHook``."""

    metrika_conn_id: str

    @property
    def log(self) -> Any: ...  # Airflow's logger type differs between its lines

    @property
    def retry_policy(self) -> RetryPolicy: ...

    @property
    def timeout(self) -> float: ...

    def resolve_counter_id(self, counter_id: int | str | None) -> int: ...

    def _send(self, method: str, endpoint: str, *, timeout: float, **kwargs: Any) -> Any: ...

    def _get(self, endpoint: str, params: dict[str, Any] | None = None) -> Any: ...

    async def _aget(self, endpoint: str, params: dict[str, Any] | None = None) -> Any: ...


def check_comment(comment: Any) -> str:
    """
    Return ``comment`` when Metrika accepts it as an upload's tag, or raise a clear error.

    Metrika documents digits, Latin and Cyrillic letters, at most 255 characters; whether spaces or
    ``-``, ``_``, ``:`` pass is *unconfirmed*, so they are refused here rather than by Metrika.

    :param comment: the comment to send.
    :raises MetrikaInvalidArgumentError: naming the first refused character and its position.
    """
    if not isinstance(comment, str) or not comment:
        raise MetrikaInvalidArgumentError(
            f"comment must be a non-empty string of letters and digits; got {comment!r}"
        )
    if len(comment) > MAX_COMMENT_LENGTH:
        raise MetrikaInvalidArgumentError(
            f"comment is {len(comment)} characters long; Metrika accepts at most {MAX_COMMENT_LENGTH}. "
            "Fix: use a shorter tag"
        )
    for position, character in enumerate(comment, start=1):
        if not _COMMENT_CHARACTER.fullmatch(character):
            raise MetrikaInvalidArgumentError(
                f"comment {comment!r} has {character!r} at position {position}, which Metrika may refuse. "
                "Fix: use only Latin or Cyrillic letters and digits (no spaces, '-', '_' or ':')"
            )
    return comment


def _uploading_id(uploading_id: Any) -> int:
    if isinstance(uploading_id, int) and not isinstance(uploading_id, bool) and uploading_id > 0:
        return uploading_id
    if isinstance(uploading_id, str) and uploading_id.strip().isdigit() and int(uploading_id) > 0:
        return int(uploading_id)
    raise MetrikaInvalidArgumentError(
        f"uploading_id must be the positive integer 'id' of an upload's answer; got {uploading_id!r}"
    )


def _list_params(limit: Any, offset: Any) -> dict[str, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_OFFLINE_LIST_LIMIT:
        raise MetrikaInvalidArgumentError(
            f"limit must be an integer from 1 to {MAX_OFFLINE_LIST_LIMIT}; got {limit!r}"
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise MetrikaInvalidArgumentError(f"offset must be an integer of 0 or more; got {offset!r}")
    return {"limit": limit, "offset": offset}


def _uploading(answer: Any, what: str) -> dict[str, Any]:
    uploading = answer.get("uploading") if isinstance(answer, dict) else None
    if not isinstance(uploading, dict) or "id" not in uploading:
        raise MetrikaError(f"Metrika's answer to {what} has no 'uploading' object: {str(answer)[:200]}")
    return uploading


def _uploadings(answer: Any, what: str) -> list[dict[str, Any]]:
    uploadings = answer.get("uploadings") if isinstance(answer, dict) else None
    if not isinstance(uploadings, list):
        raise MetrikaError(f"Metrika's answer to {what} has no 'uploadings' list: {str(answer)[:200]}")
    return [uploading for uploading in uploadings if isinstance(uploading, dict)]


def _threshold(answer: Any, what: str) -> date:
    text = answer.get("date") if isinstance(answer, dict) else None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise MetrikaError(f"Metrika's answer to {what} has no 'date': {str(answer)[:200]}") from None


def _post(
    hook: _Hook, endpoint: str, params: dict[str, str], upload: UploadFile, noun: str
) -> dict[str, Any]:
    """Send one file streamed, trying again only after failures that prove nothing was stored."""
    hook.log.info(
        "Uploading %s (%s bytes) of %s with comment %s",
        upload.name,
        f"{upload.size:,}",
        noun,
        params["comment"],
    )
    for attempt in hook.retry_policy.retrying(is_refused, hook.log, f"POST {endpoint}"):
        with attempt:
            progress = ProgressLog(hook.log, f"{upload.name}: sent", unit="bytes", total=upload.size)
            with progress, upload.open(progress) as stream:
                body = MultipartEncoder(fields={"file": (upload.name, stream, "text/csv")})
                answer = hook._send(
                    "POST",
                    endpoint,
                    params=params,
                    data=body,
                    headers={"Content-Type": body.content_type},
                    timeout=hook.timeout,
                )
            return _uploading(answer, f"POST {endpoint}")
    raise AssertionError("unreachable: tenacity re-raises the last failure")


def _upload_file(file: UploadSource, file_name: str) -> UploadFile:
    return file if isinstance(file, UploadFile) else UploadFile(file, file_name)


class OfflineConversionsCalls:
    """
    ``MetrikaHook``'s calls of the offline conversions and calls API (``management/v1/counter/{id}/
    offline_conversions/...``): uploads need ``metrika:offline_data`` or ``metrika:write``, reads
    ``metrika:read``.
    """

    def post_offline_conversions(
        self: _Hook,
        counter_id: int | str | None,
        file: UploadSource,
        *,
        client_id_type: str,
        comment: str,
        file_name: str = "conversions.csv",
    ) -> dict[str, Any]:
        """
        Send one offline conversions CSV in one POST, streamed; return Metrika's ``uploading``.

        Metrika drops invalid rows without an error: compare ``line_quantity`` with
        ``source_quantity`` in the answer (or, better, in the final status).

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path or a seekable binary file object, of at most 1 GB.
        :param client_id_type: ``CLIENT_ID``, ``USER_ID``, ``YCLID`` or ``PURCHASE_ID``: the file's
            one identifier column.
        :param comment: the upload's tag, unique to this POST: letters and digits, at most 255.
        :param file_name: the file name sent in the multipart part.
        """
        counter = self.resolve_counter_id(counter_id)
        params = {
            "comment": check_comment(comment),
            "client_id_type": check_choice("client_id_type", client_id_type, CLIENT_ID_TYPES),
        }
        upload = _upload_file(file, file_name)
        endpoint = offline_conversions_endpoint(counter, _CONVERSIONS[0])
        return _post(self, endpoint, params, upload, f"offline conversions to counter {counter}")

    def post_calls(
        self: _Hook,
        counter_id: int | str | None,
        file: UploadSource,
        *,
        comment: str,
        new_goal_name: str | None = None,
        file_name: str = "calls.csv",
    ) -> dict[str, Any]:
        """
        Send one calls CSV in one POST, streamed; return Metrika's ``uploading``.

        Metrika documents no de-duplication of calls: a call sent twice counts twice.

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path or a seekable binary file object, of at most 1 GB.
        :param comment: the upload's tag, unique to this POST: letters and digits, at most 255.
        :param new_goal_name: the name of the calls goal, used only when the counter has none yet.
        :param file_name: the file name sent in the multipart part.
        """
        counter = self.resolve_counter_id(counter_id)
        params = {"comment": check_comment(comment)}
        if new_goal_name is not None:
            if not isinstance(new_goal_name, str) or not new_goal_name.strip():
                raise MetrikaInvalidArgumentError(
                    f"new_goal_name must be a non-empty string; got {new_goal_name!r}"
                )
            params["new_goal_name"] = new_goal_name
        upload = _upload_file(file, file_name)
        endpoint = offline_conversions_endpoint(counter, _CALLS[0])
        return _post(self, endpoint, params, upload, f"calls to counter {counter}")

    def get_offline_conversions_uploading(
        self: _Hook, counter_id: int | str | None, uploading_id: int | str
    ) -> dict[str, Any]:
        """
        Return one offline conversions uploading: ``status``, ``source_quantity``, ``line_quantity``...

        :param counter_id: the counter, or None for the connection's default counter.
        :param uploading_id: the ``id`` of the upload's answer.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = offline_conversions_endpoint(counter, f"{_CONVERSIONS[1]}/{_uploading_id(uploading_id)}")
        return _uploading(self._get(endpoint), f"GET {endpoint}")

    def get_calls_uploading(
        self: _Hook, counter_id: int | str | None, uploading_id: int | str
    ) -> dict[str, Any]:
        """
        Return one calls uploading (with ``static_calls_quantity`` and ``dynamic_calls_quantity``).

        :param counter_id: the counter, or None for the connection's default counter.
        :param uploading_id: the ``id`` of the upload's answer.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = offline_conversions_endpoint(counter, f"{_CALLS[1]}/{_uploading_id(uploading_id)}")
        return _uploading(self._get(endpoint), f"GET {endpoint}")

    def list_offline_conversions_uploadings(
        self: _Hook, counter_id: int | str | None, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """
        Return one page of the counter's offline conversions uploadings, newest first.

        :param counter_id: the counter, or None for the connection's default counter.
        :param limit: how many, 1 to 10,000.
        :param offset: how many of the newest to skip, for paging back.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = offline_conversions_endpoint(counter, _CONVERSIONS[2])
        return _uploadings(self._get(endpoint, _list_params(limit, offset)), f"GET {endpoint}")

    def list_calls_uploadings(
        self: _Hook, counter_id: int | str | None, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """
        Return one page of the counter's calls uploadings, newest first.

        :param counter_id: the counter, or None for the connection's default counter.
        :param limit: how many, 1 to 10,000.
        :param offset: how many of the newest to skip, for paging back.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = offline_conversions_endpoint(counter, _CALLS[2])
        return _uploadings(self._get(endpoint, _list_params(limit, offset)), f"GET {endpoint}")

    def get_offline_conversions_threshold(self: _Hook, counter_id: int | str | None) -> date:
        """
        Return the day from which the counter accepts offline conversions (``visit_join_threshold``).

        An upload before that day is refused with "upload becomes available on <date>".

        :param counter_id: the counter, or None for the connection's default counter.
        """
        endpoint = offline_conversions_endpoint(self.resolve_counter_id(counter_id), _CONVERSIONS[3])
        return _threshold(self._get(endpoint), f"GET {endpoint}")

    def get_calls_threshold(self: _Hook, counter_id: int | str | None) -> date:
        """
        Return the day from which the counter accepts calls (``calls_visit_join_threshold``).

        :param counter_id: the counter, or None for the connection's default counter.
        """
        endpoint = offline_conversions_endpoint(self.resolve_counter_id(counter_id), _CALLS[3])
        return _threshold(self._get(endpoint), f"GET {endpoint}")

    async def aget_offline_conversions_uploading(
        self: _Hook, counter_id: int | str, uploading_id: int | str
    ) -> dict[str, Any]:
        """Asynchronous twin of :meth:`get_offline_conversions_uploading`, for triggers."""
        endpoint = offline_conversions_endpoint(
            check_counter_id(counter_id), f"{_CONVERSIONS[1]}/{_uploading_id(uploading_id)}"
        )
        return _uploading(await self._aget(endpoint), f"GET {endpoint}")

    async def aget_calls_uploading(
        self: _Hook, counter_id: int | str, uploading_id: int | str
    ) -> dict[str, Any]:
        """Asynchronous twin of :meth:`get_calls_uploading`, for triggers."""
        endpoint = offline_conversions_endpoint(
            check_counter_id(counter_id), f"{_CALLS[1]}/{_uploading_id(uploading_id)}"
        )
        return _uploading(await self._aget(endpoint), f"GET {endpoint}")
