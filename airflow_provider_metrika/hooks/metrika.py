"""Hook for Yandex Metrika's CDP API: the simplified orders upload and its read-back."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

import aiohttp
import requests
from airflow.providers.http.hooks.http import HttpHook
from requests_toolbelt import MultipartEncoder
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter
from urllib3 import PoolManager

from airflow_provider_metrika import __version__
from airflow_provider_metrika._compat import get_async_connection, get_async_extra_dejson, mask_secret
from airflow_provider_metrika.constants import (
    CONN_TYPE,
    DEFAULT_API_URL,
    DEFAULT_CONN_ID,
    DELIMITER_TYPES,
    MAX_LIST_LIMIT,
    MAX_UPLOAD_BYTES,
    MERGE_MODES,
    counter_endpoint,
    goals_endpoint,
    last_uploadings_endpoint,
    simple_orders_endpoint,
)
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaApiError,
    MetrikaAuthenticationError,
    MetrikaConnectionError,
    MetrikaError,
    MetrikaFileTooLargeError,
    MetrikaInvalidArgumentError,
    MetrikaNotFoundError,
    MetrikaUploadUncertainError,
    api_error_from_response,
)
from airflow_provider_metrika.hooks.access import (
    COUNTER_CALL,
    RECOMMENDED_SCOPES,
    TIMEZONE_HINT,
    UPLOADINGS_CALL,
    access_denied_causes,
    explain_access_error,
    unauthorized_advice,
)
from airflow_provider_metrika.hooks.retries import (
    RetryPolicy,
    describe_failure,
    is_refused,
    is_retryable,
    parse_retry_after,
)
from airflow_provider_metrika.hooks.upload_journal import (
    ACCEPTED,
    MemoryUploadJournal,
    UploadJournal,
    UploadRecord,
    unique_upload_name,
    upload_key,
)
from airflow_provider_metrika.hooks.uploadings_search import UploadingsSearch
from airflow_provider_metrika.progress import ProgressLog

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import Connection

USER_AGENT = f"airflow-provider-metrika/{__version__}"
#: Bytes read from the body per socket write: urllib3's default (16 KiB) caps uploads near 150 MB/s.
UPLOAD_BLOCK_SIZE = 1 << 20
_MAX_COUNTER_ID = 2**31 - 1
#: Merge modes in which applying the same file twice leaves the same orders.
IDEMPOTENT_MERGE_MODES = ("SAVE", "UPDATE")
#: How far Metrika's clock may lag ours when looking for an uploading after a lost answer.
UPLOAD_CLOCK_SKEW = timedelta(minutes=2)
#: Seconds between two looks at ``last_uploadings`` while waiting for a lost upload to be listed.
LOST_ANSWER_POLL = 5.0


def check_counter_id(counter_id: Any, parameter: str = "counter_id") -> int:
    """
    Return a counter id as an int, or raise a clear error before any request.

    :param counter_id: an int or a string of digits (templated values arrive as strings).
    :param parameter: the argument's name, for the message.
    """
    value: int | None = None
    if isinstance(counter_id, int) and not isinstance(counter_id, bool):
        value = counter_id
    elif isinstance(counter_id, str) and counter_id.strip().isdigit():
        value = int(counter_id.strip())
    if value is None or not 0 < value <= _MAX_COUNTER_ID:
        raise MetrikaInvalidArgumentError(
            f"{parameter} must be a positive integer (the number in the Metrika counter's URL), "
            f"got {counter_id!r}"
        )
    return value


def check_choice(parameter: str, value: Any, allowed: Sequence[str]) -> str:
    """
    Return ``value`` upper-cased when it is one of ``allowed``, or raise a clear error.

    :param parameter: the argument's name, for the message.
    :param value: the value given.
    :param allowed: the accepted values.
    """
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    raise MetrikaInvalidArgumentError(f"{parameter} must be one of {', '.join(allowed)}; got {value!r}")


class _BoundedReader:
    """
    Read at most ``size`` bytes of a stream, from where it stands.

    ``MultipartEncoder`` copies any object with ``getvalue()`` (``BytesIO``) into memory and sends
    a file from its start; this wrapper has neither trait, so the body streams from the position.
    """

    def __init__(self, stream: IO[bytes], size: int, progress: ProgressLog | None = None) -> None:
        self._stream = stream
        self.len = size
        self._done = 0
        self._progress = progress

    def read(self, length: int = -1) -> bytes:
        """Read up to ``length`` bytes (all that remain when negative)."""
        if length < 0 or length > self.len:
            length = self.len
        data = self._stream.read(length)
        self.len -= len(data)
        self._done += len(data)
        if self._progress is not None:
            self._progress(self._done)
        return data


class _UploadFile:
    """
    A CSV to upload: a path or a seekable binary file object, re-readable for each try.

    :param file: the path or file object.
    :param filename: the name sent in the multipart part (default: the file's own).
    :param expected_rows: its data rows, for messages.
    :param resend_safe: sending it again after a lost answer is allowed (ids everywhere and SAVE /
        UPDATE, or the caller forces it).
    """

    def __init__(
        self,
        file: str | os.PathLike[str] | IO[bytes],
        filename: str | None,
        expected_rows: int | None = None,
        resend_safe: bool = False,
    ) -> None:
        self.expected_rows = expected_rows
        self.resend_safe = resend_safe
        if isinstance(file, (str, os.PathLike)):
            path = Path(file)
            if not path.is_file():
                raise MetrikaInvalidArgumentError(f"file {str(path)!r} does not exist or is not a file")
            self.path: Path | None = path
            self.stream: IO[bytes] | None = None
            self.size = path.stat().st_size
            self.name = filename or path.name
            self.start = 0
        else:
            if not hasattr(file, "read") or not hasattr(file, "seek") or not file.seekable():
                raise MetrikaInvalidArgumentError(
                    "file must be a path or a seekable binary file object (open(path, 'rb'))"
                )
            self.path = None
            self.stream = file
            self.start = file.tell()
            self.size = file.seek(0, os.SEEK_END) - self.start
            file.seek(self.start)
            self.name = filename or Path(str(getattr(file, "name", "") or "data.csv")).name
        if self.size > MAX_UPLOAD_BYTES:
            raise MetrikaFileTooLargeError(
                f"{self.name} is {self.size:,} bytes; Metrika accepts at most {MAX_UPLOAD_BYTES:,} bytes "
                "per upload. Split it into parts (prepare_simple_orders does this with max_part_bytes)."
            )

    def sha256(self) -> str:
        """Return the hex SHA-256 of the file's bytes, read streamed."""
        digest = hashlib.sha256()
        with self.open() as reader:
            while block := reader.read(UPLOAD_BLOCK_SIZE):
                digest.update(block)
        return digest.hexdigest()

    @contextmanager
    def open(self, progress: ProgressLog | None = None) -> Iterator[_BoundedReader]:
        """Yield a reader of the file's bytes from its start, for one try."""
        if self.path is not None:
            with self.path.open("rb") as stream:
                yield _BoundedReader(stream, self.size, progress)
        else:
            assert self.stream is not None
            self.stream.seek(self.start)
            yield _BoundedReader(self.stream, self.size, progress)


class _KeepAliveLargeBlockAdapter(TCPKeepAliveAdapter):
    """TCP keep-alive (long uploads pass idle NATs) with large socket writes (fast uploads)."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        self.poolmanager = PoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            socket_options=self.socket_options,
            blocksize=UPLOAD_BLOCK_SIZE,
        )


class MetrikaHook(HttpHook):
    """
    Talk to Yandex Metrika's CDP API with an OAuth token from an Airflow connection.

    The connection (type ``metrika``) keeps the token in its password field, the API base URL in
    Host (empty means ``https://api-metrika.yandex.net``) and, in extras, an optional default
    ``counter_id``, the retry settings ``retry_limit``, ``retry_delay``, ``max_retry_delay``
    and ``timeout``, and ``allow_insecure_http`` (plain ``http://`` to a host other than this
    machine is refused unless it is true).

    Scopes: uploads need ``metrika:offline_data`` or ``metrika:write``; reading the counter needs
    ``metrika:read``; ``last_uploadings`` is undocumented (probably ``metrika:read``). Every 401 and
    403 raised names the connection and each cause that fits the call (see :mod:`.access`).

    :param metrika_conn_id: the Airflow connection to use.
    :param timeout: seconds to wait for an answer to an upload (Metrika validates the file first).
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for the answer to a read (uploadings list, counter).
    :param retry_limit: retries after the first try of a request (default: connection extra, else 5).
    :param retry_delay: first backoff in seconds, doubled on each retry (default: extra, else 1).
    :param max_retry_delay: longest wait between tries, ``Retry-After`` included (default: extra, else 60).
    :param lost_answer_wait: seconds to keep looking for an upload whose answer was lost before
        failing, when re-sending it is not idempotent (default: extra ``lost_answer_wait``, else 60).
    """

    conn_name_attr = "metrika_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Yandex Metrika"
    default_host = DEFAULT_API_URL

    def __init__(
        self,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        *,
        timeout: float | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        max_retry_delay: float | None = None,
        lost_answer_wait: float | None = None,
    ) -> None:
        super().__init__(
            method="GET",
            http_conn_id=metrika_conn_id,
            adapter=_KeepAliveLargeBlockAdapter(idle=120, count=20, interval=30),
        )
        self.metrika_conn_id = metrika_conn_id
        self._timeout_arg = timeout
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._retry_args = {
            "retry_limit": retry_limit,
            "retry_delay": retry_delay,
            "max_retry_delay": max_retry_delay,
        }
        self._lost_answer_wait_arg = lost_answer_wait
        self._connection: Connection | None = None
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"MetrikaHook(metrika_conn_id={self.metrika_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form layout for Airflow versions that read it from the hook (< 3.2)."""
        return {
            "hidden_fields": ["schema", "login", "port"],
            "relabeling": {"host": "API base URL", "password": "OAuth token"},
            "placeholders": {"host": DEFAULT_API_URL},
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the connection form's extra fields for Airflow < 3.2, which reads them from the hook."""
        from airflow_provider_metrika.hooks.connection_form import connection_form_widgets

        return connection_form_widgets()

    # -- connection --------------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        """The Airflow connection, loaded once per hook."""
        if self._connection is None:
            self._connection = self.get_connection(self.metrika_conn_id)
        return self._connection

    @property
    def extras(self) -> dict[str, Any]:
        """The connection's extras, with form-prefixed keys (``extra__metrika__x``) folded in."""
        return _normalise_extras(self.connection.extra_dejson)

    @property
    def default_counter_id(self) -> int | None:
        """The counter id set on the connection, if any."""
        value = self.extras.get("counter_id")
        if value in (None, ""):
            return None
        return check_counter_id(value, f"connection {self.metrika_conn_id!r} extra counter_id")

    @property
    def retry_policy(self) -> RetryPolicy:
        """Retry settings from hook arguments, else connection extras, else defaults."""
        return _retry_policy(self._retry_args, self.extras)

    @property
    def timeout(self) -> float:
        """Seconds to wait for an upload's answer."""
        return float(self._timeout_arg or self.extras.get("timeout") or 300.0)

    @property
    def lost_answer_wait(self) -> float:
        """Seconds to keep looking for an upload whose answer was lost, before failing."""
        value = self._lost_answer_wait_arg
        if value is None:
            value = self.extras.get("lost_answer_wait")
        try:
            seconds = float(60.0 if value in (None, "") else value)
        except (TypeError, ValueError):
            raise MetrikaInvalidArgumentError(f"lost_answer_wait must be a number; got {value!r}") from None
        if seconds < 0:
            raise MetrikaInvalidArgumentError(f"lost_answer_wait must be 0 or more; got {value!r}")
        return seconds

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """
        Refuse ``HttpHook.run``: it would bypass the typed errors, the retry rule and the journal.

        Use :meth:`upload_simple_orders`, :meth:`list_uploadings`, :meth:`find_uploadings`,
        :meth:`get_uploading` or :meth:`get_counter`.
        """
        raise MetrikaInvalidArgumentError(
            "MetrikaHook.run() is not supported: it would skip Metrika's typed errors, retries and the "
            "upload journal. Call upload_simple_orders(), list_uploadings(), find_uploadings(), "
            "get_uploading() or get_counter() instead."
        )

    def resolve_counter_id(self, counter_id: int | str | None) -> int:
        """
        Return ``counter_id`` checked, or the connection's default counter when it is None.

        :param counter_id: the counter asked for, or None.
        """
        if counter_id is None:
            default = self.default_counter_id
            if default is None:
                raise MetrikaInvalidArgumentError(
                    "counter_id is required: pass it, or set 'Default counter ID' on connection "
                    f"{self.metrika_conn_id!r}"
                )
            return default
        return check_counter_id(counter_id)

    def _set_base_url(self, connection: Any) -> None:
        self.base_url = base_url_from_connection(connection)
        self._base_url_initialized = True

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """
        Return a requests session that sends the OAuth token, reused across calls of this hook.

        Unlike ``HttpHook``, connection extras are settings here, never sent as headers.

        :param headers: extra headers for the session.
        :param extra_options: unused; kept for ``HttpHook`` compatibility.
        """
        if self._session is None:
            connection = self.connection
            token = token_from_connection(connection)
            self._set_base_url(connection)
            session = requests.Session()
            session.headers.update(
                {"Authorization": f"OAuth {token}", "Accept": "application/json", "User-Agent": USER_AGENT}
            )
            self._session = self._configure_session_from_mount_adapters(session)
        if headers:
            self._session.headers.update(headers)
        return self._session

    def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- sync requests -----------------------------------------------------------------------------

    def _send(self, method: str, endpoint: str, *, timeout: float, **kwargs: Any) -> Any:
        session = self.get_conn()
        url = self.url_from_endpoint(endpoint)
        try:
            response = session.request(method, url, timeout=(self.connect_timeout, timeout), **kwargs)
        except requests.exceptions.ConnectionError as exc:
            # ConnectTimeout is a ConnectionError too: in both, nothing reached the server.
            sent = not isinstance(exc, requests.exceptions.ConnectTimeout) and not _is_connect_failure(exc)
            raise MetrikaConnectionError(
                f"{method} {url}: {_connection_failure(exc)}", request_sent=sent
            ) from None
        except requests.exceptions.Timeout:
            raise MetrikaConnectionError(f"{method} {url}: no answer within {timeout:.0f} s") from None
        if response.status_code >= 400:
            error = api_error_from_response(
                response.status_code, response.content, parse_retry_after(response.headers.get("Retry-After"))
            )
            raise explain_access_error(error, self.metrika_conn_id, method, endpoint)
        try:
            return response.json()
        except ValueError:
            raise MetrikaError(f"{method} {url}: the answer is not JSON: {response.text[:200]!r}") from None

    def _get(self, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        for attempt in self.retry_policy.retrying(is_retryable, self.log, f"GET {endpoint}"):
            with attempt:
                return self._send("GET", endpoint, params=params, timeout=self.read_timeout)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def upload_simple_orders(
        self,
        counter_id: int | str | None,
        file: str | os.PathLike[str] | IO[bytes],
        merge_mode: str = "SAVE",
        delimiter_type: str = "COMMA",
        *,
        filename: str | None = None,
        expected_rows: int | None = None,
        all_rows_have_ids: bool = False,
        journal: UploadJournal | None = None,
        content_sha256: str | None = None,
        force_resend: bool = False,
    ) -> dict[str, Any]:
        """
        Upload one simplified-orders CSV, streamed from disk, and return Metrika's ``uploading``.

        Metrika has no idempotency key, so every POST goes out under a file name unique to it, and
        ``journal`` gets a ``sending`` record before it and an ``accepted`` record after it, under
        a key of the destination and the content (:func:`upload_key`). The rule:

        - the journal already has the upload ``accepted``: it is returned, nothing is sent;
        - 420 / 429 / 503, or a connection that could not be opened: Metrika refused the request;
          it is sent again after a backoff;
        - a lost answer (connection broken after sending, read timeout, 500 / 502 / 504), or a
          ``sending`` record left by an earlier try: the uploading titled with that POST's unique
          name is looked for in ``last_uploadings`` and adopted if listed (never one matched by
          time or row count). If none is listed, the file is sent again only when that is
          idempotent (every row has an order ``id`` and ``merge_mode`` is SAVE or UPDATE) or
          ``force_resend`` is set; otherwise :class:`MetrikaUploadUncertainError` (never retried
          by Airflow) says what may be stored and how to check.

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path, or a seekable binary file object, of a UTF-8 CSV of at most 1 GB.
        :param merge_mode: ``SAVE`` (replace each order), ``UPDATE`` (change the fields sent) or
            ``APPEND`` (add list values).
        :param delimiter_type: ``COMMA`` or ``SEMICOLON``, the file's delimiter.
        :param filename: the stem of the file names sent (default: the file's own name); each POST
            adds a tag unique to it.
        :param expected_rows: the file's data rows, for messages.
        :param all_rows_have_ids: every row has an order id (re-sending with SAVE / UPDATE is safe).
        :param journal: where records are kept; default: in memory, for this call only. Pass a
            durable one to carry the rule across processes (the operator keeps it in Airflow).
        :param content_sha256: the file's SHA-256, when the caller knows it (else it is computed).
        :param force_resend: send again even when an earlier send of this upload is unresolved
            and re-sending is not idempotent (after checking in Metrika that it was not stored).
        :return: the ``uploading`` object: ``uploading_id``, ``api_validation_status``, ...
        """
        counter = self.resolve_counter_id(counter_id)
        params = {
            "merge_mode": check_choice("merge_mode", merge_mode, MERGE_MODES),
            "delimiter_type": check_choice("delimiter_type", delimiter_type, DELIMITER_TYPES),
        }
        resend_safe = all_rows_have_ids and params["merge_mode"] in IDEMPOTENT_MERGE_MODES
        upload = _UploadFile(file, filename, expected_rows, resend_safe or force_resend)
        key = upload_key(
            base_url_from_connection(self.connection),
            counter,
            params["merge_mode"],
            params["delimiter_type"],
            content_sha256 or upload.sha256(),
        )
        journal = journal if journal is not None else MemoryUploadJournal()
        earlier = self._resolve_earlier_send(journal, key, upload, force_resend)
        if earlier is not None:
            return earlier
        endpoint = simple_orders_endpoint(counter)
        self.log.info(
            "Uploading %s (%s bytes) to counter %s with merge_mode=%s",
            upload.name,
            f"{upload.size:,}",
            counter,
            params["merge_mode"],
        )
        for attempt in self.retry_policy.retrying(_may_resend, self.log, f"POST {endpoint}"):
            with attempt:
                uploading = self._post_file(endpoint, params, upload, counter, key, journal)
        return uploading

    def _resolve_earlier_send(
        self, journal: UploadJournal, key: str, upload: _UploadFile, force_resend: bool
    ) -> dict[str, Any] | None:
        """Return the uploading of an earlier send of this upload, or None when it must be sent."""
        record = journal.read(key)
        if record is None:
            return None
        if record.state == ACCEPTED and record.uploading is not None:
            self.log.info(
                "%s: accepted in an earlier try as uploading %s (sent as %s); not sent again",
                upload.name,
                record.uploading.get("uploading_id"),
                record.name,
            )
            return record.uploading
        found = self._adopt_listed(journal, key, record, upload, "an earlier try recorded no answer")
        if found is not None:
            return found
        if upload.resend_safe:
            self.log.warning(
                "%s: an earlier try sent it as %s at %s and no uploading with that name is listed; %s",
                upload.name,
                record.name,
                record.sent_at,
                "sending it again, as force_resend=True asks"
                if force_resend
                else "sending it again is safe (every row has an id, merge_mode SAVE/UPDATE)",
            )
            return None
        raise MetrikaUploadUncertainError(
            _uncertain_message(upload, record, "an earlier try lost its answer")
        )

    def _post_file(
        self,
        endpoint: str,
        params: dict[str, str],
        upload: _UploadFile,
        counter: int,
        key: str,
        journal: UploadJournal,
    ) -> dict[str, Any]:
        record = UploadRecord.sending(unique_upload_name(upload.name, key), upload.expected_rows, counter)
        journal.write(key, record)
        with upload.open(ProgressLog(self.log, f"{record.name}: sent", unit="bytes")) as stream:
            body = MultipartEncoder(fields={"file": (record.name, stream, "text/csv")})
            try:
                answer = self._send(
                    "POST",
                    endpoint,
                    params=params,
                    data=body,
                    headers={"Content-Type": body.content_type},
                    timeout=self.timeout,
                )
            except (MetrikaConnectionError, MetrikaApiError) as exc:
                if is_refused(exc) or not _is_ambiguous(exc):
                    # Metrika answered, or was never reached: nothing of this POST is stored.
                    journal.delete(key)
                    raise
                failure = exc
            else:
                uploading = _uploading_from_answer(answer)
                journal.write(key, record.accepted(uploading))
                return uploading
        found = self._adopt_listed(
            journal, key, record, upload, f"its answer was lost ({describe_failure(failure)})"
        )
        if found is not None:
            return found
        if upload.resend_safe:
            raise _ResendableUploadError(
                f"{record.name}: the answer was lost ({failure}) and no uploading is listed under its "
                "name; sending it again is safe (every row has an id, merge_mode SAVE/UPDATE)"
            )
        raise MetrikaUploadUncertainError(
            _uncertain_message(upload, record, f"no answer came back ({failure})")
        )

    def _adopt_listed(
        self, journal: UploadJournal, key: str, record: UploadRecord, upload: _UploadFile, lost: str
    ) -> dict[str, Any] | None:
        """Return the uploading listed under the record's unique name, recorded as accepted; or None."""
        found = self._find_titled(record.counter_id, record, wait=not upload.resend_safe)
        if found is None:
            return None
        self.log.warning(
            "%s, sent as %s at %s: %s, but Metrika lists it as uploading %s: not sending it again",
            upload.name,
            record.name,
            record.sent_at,
            lost,
            found.get("uploading_id"),
        )
        journal.write(key, record.accepted(found))
        return found

    def _find_titled(self, counter: int, record: UploadRecord, *, wait: bool) -> dict[str, Any] | None:
        """
        Return the uploading whose title is the record's unique name, looking back to its send.

        An uploading may be listed some time after it was stored (*unconfirmed* delay): when a
        miss would fail the task (``wait``), the list is read again for up to ``lost_answer_wait``
        seconds. Whether Metrika echoes the file name as ``uploading_title`` is *unconfirmed*:
        when it does not, nothing is ever adopted.
        """
        since = record.sent_at_datetime - UPLOAD_CLOCK_SKEW
        deadline = time.monotonic() + (self.lost_answer_wait if wait else 0.0)
        while True:
            search = UploadingsSearch([], not_before=since, page_size=100, max_pages=10, title=record.name)
            while (params := search.next_params()) is not None:
                search.feed(self.list_uploadings(counter, **params))
            if search.titled is not None or time.monotonic() >= deadline:
                return search.titled
            time.sleep(min(LOST_ANSWER_POLL, max(0.0, deadline - time.monotonic())))

    def list_uploadings(
        self,
        counter_id: int | str | None,
        limit: int = 100,
        datetime_offset: str | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """
        Return the counter's recent uploadings, newest first.

        :param counter_id: the counter, or None for the connection's default counter.
        :param limit: how many, 1 to 1000.
        :param datetime_offset: only uploadings strictly older than this (UTC), for paging back.
        """
        counter = self.resolve_counter_id(counter_id)
        params = _list_params(limit, datetime_offset)
        answer = self._get(last_uploadings_endpoint(counter), params)
        return _uploadings_from_answer(answer)

    def find_uploadings(
        self,
        counter_id: int | str | None,
        uploading_ids: Sequence[str],
        *,
        not_before: str | datetime | None = None,
        page_size: int = 100,
        max_pages: int = 10,
    ) -> dict[str, dict[str, Any]]:
        """
        Find several uploadings in one walk back through ``last_uploadings``.

        Metrika has no per-id status call: this pages back, newest first, until every id is
        found, the list passes ``not_before``, the list ends, or ``max_pages`` pages were read.

        :param counter_id: the counter, or None for the connection's default counter.
        :param uploading_ids: the ids to look for.
        :param not_before: stop paging once uploadings are older than this (UTC).
        :param page_size: uploadings per request (1 to 1000).
        :param max_pages: the most requests to make.
        :return: the uploadings found, by id; ids not listed (yet) are absent.
        """
        counter = self.resolve_counter_id(counter_id)
        search = UploadingsSearch(
            uploading_ids, not_before=not_before, page_size=page_size, max_pages=max_pages
        )
        while (params := search.next_params()) is not None:
            search.feed(self.list_uploadings(counter, **params))
        return search.found

    def get_uploading(
        self, counter_id: int | str | None, uploading_id: str, *, max_pages: int = 10
    ) -> dict[str, Any] | None:
        """
        Return one uploading by id, or None when it is not (yet) listed.

        :param counter_id: the counter, or None for the connection's default counter.
        :param uploading_id: the ``uploading_id`` an upload returned.
        :param max_pages: the most ``last_uploadings`` pages (100 each) to read.
        """
        return self.find_uploadings(counter_id, [uploading_id], max_pages=max_pages).get(uploading_id)

    def get_counter(self, counter_id: int | str | None) -> dict[str, Any]:
        """
        Return the counter's settings (``time_zone_name`` among them) from the management API.

        :param counter_id: the counter, or None for the connection's default counter.
        """
        counter = self.resolve_counter_id(counter_id)
        answer = self._get(counter_endpoint(counter))
        if not isinstance(answer, dict) or not isinstance(answer.get("counter"), dict):
            raise MetrikaError(f"counter {counter}: the answer has no 'counter' object")
        return answer["counter"]

    def get_goals(self, counter_id: int | str | None) -> list[dict[str, Any]]:
        """
        Return the counter's goals from the management API (needs the ``metrika:read`` scope).

        :param counter_id: the counter, or None for the connection's default counter.
        """
        counter = self.resolve_counter_id(counter_id)
        answer = self._get(goals_endpoint(counter))
        if not isinstance(answer, dict) or not isinstance(answer.get("goals"), list):
            raise MetrikaError(f"counter {counter}: the goals answer has no 'goals' list")
        return [goal for goal in answer["goals"] if isinstance(goal, dict)]

    def get_counter_timezone(self, counter_id: int | str | None) -> str:
        """Return the IANA zone in which Metrika reads the counter's order dates (needs ``metrika:read``)."""
        return str(self.get_counter(counter_id).get("time_zone_name") or "Europe/Moscow")

    def test_connection(self) -> tuple[bool, str]:
        """
        Tell what the connection's token can do on its default counter; nothing is uploaded.

        Checks, one try each: the token is accepted; the counter's settings are readable
        (``metrika:read``); the uploadings list is readable. A token that can list uploadings but not
        read the counter (``metrika:offline_data`` alone) is reported usable for uploads, with what it
        cannot do and the argument that avoids it. When the UI tests a form, Airflow renames the
        connection to a random id, so messages say "this connection" rather than an id.
        """
        who = "this connection"
        try:
            token_from_connection(self.connection, who="This connection")
            base_url = base_url_from_connection(self.connection, who="This connection")
            raw_counter = self.extras.get("counter_id")
            counter = (
                None if raw_counter in (None, "") else check_counter_id(raw_counter, "'Default counter ID'")
            )
        except MetrikaError as exc:
            return False, str(exc)
        if counter is None:
            return False, (
                "The connection has a token, but no 'Default counter ID': add one so the test can "
                "check that the token reaches a counter."
            )
        # A person is waiting on the form's "Test" button: one try, no backoff.
        retry_limit, self._retry_args["retry_limit"] = self._retry_args["retry_limit"], 0
        try:
            info = self._probe(lambda: self.get_counter(counter))
            listed = self._probe(lambda: self.list_uploadings(counter, limit=1))
        except MetrikaAuthenticationError:
            return False, unauthorized_advice(who)
        except MetrikaNotFoundError:
            return False, (
                f"Counter {counter} was not found (404) at {base_url}. Check 'Default counter ID', and "
                f"that 'API base URL' is Metrika's API (empty means {DEFAULT_API_URL})."
            )
        except MetrikaConnectionError:
            return False, (
                f"Could not reach {base_url}. Check 'API base URL' (empty means {DEFAULT_API_URL}) "
                "and the network."
            )
        except MetrikaError as exc:
            return False, _first_line(exc)
        finally:
            self._retry_args["retry_limit"] = retry_limit
        return _connection_verdict(counter, info, listed is not None, who)

    def _probe(self, call: Any) -> Any:
        """Return the call's answer, or None when Metrika refuses it with 403."""
        try:
            return call()
        except MetrikaAccessDeniedError:
            return None

    # -- async twins for triggers ------------------------------------------------------------------

    async def _aget(self, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        connection = await get_async_connection(self.metrika_conn_id, hook=self)
        token = token_from_connection(connection)
        url = f"{base_url_from_connection(connection)}/{endpoint}"
        policy = _retry_policy(self._retry_args, _normalise_extras(await get_async_extra_dejson(connection)))
        headers = {"Authorization": f"OAuth {token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        timeout = aiohttp.ClientTimeout(total=self.read_timeout, connect=self.connect_timeout)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            try:
                async for attempt in policy.async_retrying(is_retryable, self.log, f"GET {endpoint}"):
                    with attempt:
                        return await _aget_json(session, url, params)
            except MetrikaApiError as exc:
                raise explain_access_error(exc, self.metrika_conn_id, "GET", endpoint) from None
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    async def alist_uploadings(
        self,
        counter_id: int | str | None,
        limit: int = 100,
        datetime_offset: str | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Asynchronous twin of :meth:`list_uploadings`."""
        counter = check_counter_id(counter_id)
        answer = await self._aget(last_uploadings_endpoint(counter), _list_params(limit, datetime_offset))
        return _uploadings_from_answer(answer)

    async def afind_uploadings(
        self,
        counter_id: int | str | None,
        uploading_ids: Sequence[str],
        *,
        not_before: str | datetime | None = None,
        page_size: int = 100,
        max_pages: int = 10,
    ) -> dict[str, dict[str, Any]]:
        """Asynchronous twin of :meth:`find_uploadings`."""
        counter = check_counter_id(counter_id)
        search = UploadingsSearch(
            uploading_ids, not_before=not_before, page_size=page_size, max_pages=max_pages
        )
        while (params := search.next_params()) is not None:
            search.feed(await self.alist_uploadings(counter, **params))
        return search.found

    async def aget_uploading(
        self, counter_id: int | str | None, uploading_id: str, *, max_pages: int = 10
    ) -> dict[str, Any] | None:
        """Asynchronous twin of :meth:`get_uploading`."""
        found = await self.afind_uploadings(counter_id, [uploading_id], max_pages=max_pages)
        return found.get(uploading_id)

    async def aget_counter(self, counter_id: int | str | None) -> dict[str, Any]:
        """Asynchronous twin of :meth:`get_counter`."""
        counter = check_counter_id(counter_id)
        answer = await self._aget(counter_endpoint(counter))
        if not isinstance(answer, dict) or not isinstance(answer.get("counter"), dict):
            raise MetrikaError(f"counter {counter}: the answer has no 'counter' object")
        return answer["counter"]


def token_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the OAuth token kept in the connection's password field, registered for log masking.

    :param connection: the Airflow connection.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    token = (connection.password or "").strip()
    if not token:
        raise MetrikaInvalidArgumentError(
            f"{who or _named(connection)} has no OAuth token: put a token with scopes "
            f"{RECOMMENDED_SCOPES} in its 'OAuth token' (password) field"
        )
    mask_secret(token)
    return token


def base_url_from_connection(connection: Connection, who: str | None = None) -> str:
    """
    Return the API base URL from the connection's Host (and Port, Schema), without a trailing slash.

    Plain ``http://`` would send the token unencrypted: it is refused, before any request, for any
    host but this machine (127.0.0.0/8, ::1, ``localhost``: the emulator), unless the connection's
    extra ``allow_insecure_http`` is true.

    :param connection: the Airflow connection; an empty Host means Metrika's public API.
    :param who: how messages name the connection (default: ``Connection '<conn_id>'``).
    """
    host = (connection.host or "").strip()
    if not host:
        return DEFAULT_API_URL
    if "://" not in host:
        host = f"{connection.schema or 'https'}://{host}"
    if connection.port and not urlparse(host).port:
        host = f"{host.rstrip('/')}:{connection.port}"
    parsed = urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise MetrikaInvalidArgumentError(
            f"{who or _named(connection)}: 'API base URL' must look like {DEFAULT_API_URL} "
            f"(or http://127.0.0.1:8765 for the emulator); got {connection.host!r}"
        )
    insecure_allowed = _truthy(_normalise_extras(connection.extra_dejson).get("allow_insecure_http"))
    if parsed.scheme == "http" and not is_loopback_host(parsed.hostname) and not insecure_allowed:
        raise MetrikaInvalidArgumentError(
            f"{who or _named(connection)}: 'API base URL' {host.rstrip('/')} is plain http:// to "
            "another machine, so the OAuth token would travel unencrypted; nothing was sent. Use "
            f"https:// (Metrika's API is {DEFAULT_API_URL}; an empty 'API base URL' means it), or, "
            "only for a trusted proxy, set the connection's extra allow_insecure_http to true."
        )
    return host.rstrip("/")


def is_loopback_host(hostname: str) -> bool:
    """
    Tell whether a host name is this machine: ``localhost``, 127.0.0.0/8 or ::1.

    :param hostname: the host part of a URL, without brackets.
    """
    name = hostname.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return value is True or value == 1


def _named(connection: Connection) -> str:
    return f"Connection {connection.conn_id!r}"


def _normalise_extras(extras: dict[str, Any]) -> dict[str, Any]:
    prefix = f"extra__{CONN_TYPE}__"
    folded = {key.removeprefix(prefix): value for key, value in extras.items() if key.startswith(prefix)}
    return {**folded, **{k: v for k, v in extras.items() if not k.startswith(prefix)}}


def _retry_policy(arguments: dict[str, Any], extras: dict[str, Any]) -> RetryPolicy:
    settings: dict[str, Any] = {}
    for name, convert in (("retry_limit", int), ("retry_delay", float), ("max_retry_delay", float)):
        value = arguments.get(name)
        if value is None:
            value = extras.get(name)
        if value in (None, ""):
            continue
        try:
            settings[name] = convert(value)
        except (TypeError, ValueError):
            raise MetrikaInvalidArgumentError(f"{name} must be a number; got {value!r}") from None
    try:
        return RetryPolicy(**settings)
    except ValueError as exc:
        raise MetrikaInvalidArgumentError(str(exc)) from None


def _list_params(limit: int, datetime_offset: str | datetime | None) -> dict[str, Any]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise MetrikaInvalidArgumentError(
            f"limit must be an integer from 1 to {MAX_LIST_LIMIT}; got {limit!r}"
        )
    params: dict[str, Any] = {"limit": limit, "source": "API"}
    if datetime_offset is not None:
        params["datetime_offset"] = UploadingsSearch.format_datetime(datetime_offset)
    return params


def _uploading_from_answer(answer: Any) -> dict[str, Any]:
    uploading = answer.get("uploading") if isinstance(answer, dict) else None
    if not isinstance(uploading, dict) or "uploading_id" not in uploading:
        raise MetrikaError(f"Metrika's answer to the upload has no 'uploading' object: {str(answer)[:200]}")
    return uploading


def _uploadings_from_answer(answer: Any) -> list[dict[str, Any]]:
    uploadings = answer.get("uploadings") if isinstance(answer, dict) else None
    if not isinstance(uploadings, list):
        raise MetrikaError(f"Metrika's answer has no 'uploadings' list: {str(answer)[:200]}")
    return [u for u in uploadings if isinstance(u, dict)]


class _ResendableUploadError(MetrikaError):
    """An upload's answer was lost, none is listed, and sending the file again is idempotent."""


def _uncertain_message(upload: _UploadFile, record: UploadRecord, what: str) -> str:
    rows = f"{record.rows:,} orders" if record.rows is not None else "its orders"
    return (
        f"{upload.name} was sent to counter {record.counter_id} as {record.name!r} at {record.sent_at} UTC, "
        f"but {what} and no uploading with that name is listed, so Metrika may or may not have stored "
        f"it: up to {rows} may be stored once already. It was not sent again, and the task is not "
        "retried: with rows lacking an order id, or merge_mode APPEND, a second copy would add to "
        f"the first. Check the counter's uploadings for {record.name!r} (Metrika's CRM data page, or "
        "MetrikaHook.list_uploadings). If it is there, mark the task success; if it is not, re-send "
        "on purpose with force_resend=True (operator or hook argument) and clear the task."
    )


def _may_resend(exc: BaseException) -> bool:
    return is_refused(exc) or isinstance(exc, _ResendableUploadError)


def _is_ambiguous(exc: Exception) -> bool:
    """Tell whether an upload's failure leaves open whether Metrika stored the file."""
    if isinstance(exc, MetrikaConnectionError):
        return exc.request_sent
    return isinstance(exc, MetrikaApiError) and exc.http_status >= 500


def _is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    name = type(inner).__name__
    return name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError")


def _connection_failure(exc: requests.exceptions.RequestException) -> str:
    reason = exc.args[0] if exc.args else exc
    inner = getattr(reason, "reason", reason)
    return f"connection failed ({type(inner).__name__})"


async def _aget_json(session: aiohttp.ClientSession, url: str, params: dict[str, Any] | None) -> Any:
    try:
        async with session.get(url, params=params) as response:
            body = await response.read()
            if response.status >= 400:
                raise api_error_from_response(
                    response.status, body, parse_retry_after(response.headers.get("Retry-After"))
                )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MetrikaConnectionError(f"GET {url}: connection failed ({type(exc).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise MetrikaError(f"GET {url}: the answer is not JSON: {body[:200]!r}") from None


_UPLOADS_UNTESTED = (
    "Uploads need metrika:offline_data or metrika:write; the test uploads nothing, so it cannot check "
    "that scope."
)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _connection_verdict(
    counter: int, info: dict[str, Any] | None, listed: bool, who: str
) -> tuple[bool, str]:
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
