"""Hook for Yandex Metrika's API: one method per call (uploads, their read-back, the counter)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import aiohttp
import requests
from airflow.providers.http.hooks.http import HttpHook
from requests_toolbelt import MultipartEncoder

from airflow_provider_metrika import __version__
from airflow_provider_metrika._compat import get_async_connection, get_async_extra_dejson
from airflow_provider_metrika.arguments import (
    check_choice,
    check_counter_id,
    check_hook_settings,
    check_seconds,
)
from airflow_provider_metrika.constants import (
    CONN_TYPE,
    COUNTERS_ENDPOINT,
    DEFAULT_API_URL,
    DEFAULT_CONN_ID,
    DELIMITER_TYPES,
    MAX_HTTP_SECONDS,
    MERGE_MODES,
    REPORT_PAGE_ROWS,
    REPORTS_ENDPOINT,
    counter_endpoint,
    goals_endpoint,
    last_uploadings_endpoint,
    simple_orders_endpoint,
)
from airflow_provider_metrika.exceptions import (
    MetrikaAccessDeniedError,
    MetrikaApiError,
    MetrikaConnectionError,
    MetrikaError,
    MetrikaInvalidArgumentError,
    api_error_from_response,
)
from airflow_provider_metrika.hooks.access import explain_access_error
from airflow_provider_metrika.hooks.connection import (
    atoken_from_connection,
    base_url_from_connection,
    is_loopback_host,
    normalise_extras,
    retry_policy,
    token_from_connection,
)
from airflow_provider_metrika.hooks.connection_test import (
    connection_verdict,
    failure_text,
    token_verdict,
)
from airflow_provider_metrika.hooks.expenses import ExpensesCalls
from airflow_provider_metrika.hooks.offline_conversions import OfflineConversionsCalls
from airflow_provider_metrika.hooks.reports import LinkedOrders, LinkedOrdersQuery
from airflow_provider_metrika.hooks.responses import (
    aget_json,
    connection_failure,
    is_connect_failure,
    list_params,
    uploading_from_answer,
    uploadings_from_answer,
)
from airflow_provider_metrika.hooks.retries import RetryPolicy, is_retryable, parse_retry_after
from airflow_provider_metrika.hooks.upload_file import KeepAliveLargeBlockAdapter, UploadFile
from airflow_provider_metrika.hooks.uploadings_search import UploadingsSearch
from airflow_provider_metrika.progress import ProgressLog

if TYPE_CHECKING:
    from airflow_provider_metrika._compat import Connection

__all__ = [
    "MetrikaHook",
    "base_url_from_connection",
    "check_choice",
    "check_counter_id",
    "is_loopback_host",
    "token_from_connection",
]

USER_AGENT = f"airflow-provider-metrika/{__version__}"


class MetrikaHook(OfflineConversionsCalls, ExpensesCalls, HttpHook):
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
        check_hook_settings(
            timeout=timeout,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            lost_answer_wait=lost_answer_wait,
        )
        super().__init__(
            method="GET",
            http_conn_id=metrika_conn_id,
            adapter=KeepAliveLargeBlockAdapter(idle=120, count=20, interval=30),
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
        return normalise_extras(self.connection.extra_dejson)

    @property
    def base_url_checked(self) -> str:
        """The API base URL of the connection, checked (plain http only to this machine)."""
        return base_url_from_connection(self.connection)

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
        return retry_policy(self._retry_args, self.extras)

    @property
    def timeout(self) -> float:
        """Seconds to wait for an upload's answer."""
        value = self._timeout_arg or self.extras.get("timeout") or 300.0
        return float(check_seconds("timeout", value, high=MAX_HTTP_SECONDS, text=True) or 300.0)

    @property
    def lost_answer_wait(self) -> float:
        """Seconds to keep looking for an upload whose answer was lost, before failing."""
        value = self._lost_answer_wait_arg
        if value is None:
            value = self.extras.get("lost_answer_wait")
        value = 60.0 if value in (None, "") else value
        return float(
            check_seconds("lost_answer_wait", value, high=MAX_HTTP_SECONDS, zero=True, text=True) or 0
        )

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """
        Refuse ``HttpHook.run``: it would bypass the typed errors, the retry rule and the journal.

        Use :meth:`post_simple_orders` (exactly once:
        :func:`airflow_provider_metrika.delivery.upload_simple_orders`), :meth:`list_uploadings`,
        :meth:`find_uploadings`, :meth:`get_uploading` or :meth:`get_counter`.
        """
        raise MetrikaInvalidArgumentError(
            "MetrikaHook.run() is not supported: it would skip Metrika's typed errors, retries and the "
            "upload journal. Call airflow_provider_metrika.delivery.upload_simple_orders(hook, ...), "
            "list_uploadings(), find_uploadings(), get_uploading() or get_counter() instead."
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
            sent = not isinstance(exc, requests.exceptions.ConnectTimeout) and not is_connect_failure(exc)
            raise MetrikaConnectionError(
                f"{method} {url}: {connection_failure(exc)}", request_sent=sent
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

    def post_simple_orders(
        self,
        counter_id: int | str | None,
        file: str | os.PathLike[str] | IO[bytes] | UploadFile,
        name: str,
        merge_mode: str = "SAVE",
        delimiter_type: str = "COMMA",
    ) -> dict[str, Any]:
        """
        Send one simplified-orders CSV in one POST, streamed, and return Metrika's ``uploading``.

        No retry and no journal: a failure is raised as it is (see :mod:`.hooks.failures` for
        what each means). :func:`airflow_provider_metrika.delivery.upload_simple_orders` is the exactly-once
        call built on this one.

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path or a seekable binary file object, of at most 1 GB.
        :param name: the file name sent in the multipart part.
        :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND``.
        :param delimiter_type: ``COMMA`` or ``SEMICOLON``.
        """
        counter = self.resolve_counter_id(counter_id)
        params = {
            "merge_mode": check_choice("merge_mode", merge_mode, MERGE_MODES),
            "delimiter_type": check_choice("delimiter_type", delimiter_type, DELIMITER_TYPES),
        }
        upload = file if isinstance(file, UploadFile) else UploadFile(file, name)
        self.log.info(
            "Uploading %s (%s bytes) to counter %s with merge_mode=%s",
            name,
            f"{upload.size:,}",
            counter,
            params["merge_mode"],
        )
        progress = ProgressLog(
            self.log,
            f"{name}: sent",
            unit="bytes",
            total=upload.size,
            after_total="waiting for Metrika's answer (it reads the whole file first)",
        )
        with progress, upload.open(progress) as stream:
            body = MultipartEncoder(fields={"file": (name, stream, "text/csv")})
            answer = self._send(
                "POST",
                simple_orders_endpoint(counter),
                params=params,
                data=body,
                headers={"Content-Type": body.content_type},
                timeout=self.timeout,
            )
        return uploading_from_answer(answer)

    def find_titled_uploading(
        self, counter_id: int | str | None, title: str, *, not_before: str | datetime
    ) -> dict[str, Any] | None:
        """
        Return the uploading whose ``uploading_title`` is exactly ``title``, looking back to ``not_before``.

        Whether Metrika echoes the file name as ``uploading_title`` is *unconfirmed*: when it does
        not, nothing is found, and callers treat the upload as unresolved.

        :param counter_id: the counter, or None for the connection's default counter.
        :param title: a name unique to one upload.
        :param not_before: how far back to look (UTC).
        """
        counter = self.resolve_counter_id(counter_id)
        search = UploadingsSearch([], not_before=not_before, page_size=100, max_pages=10, title=title)
        while (params := search.next_params()) is not None:
            search.feed(self.list_uploadings(counter, **params))
        return search.titled

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
        params = list_params(limit, datetime_offset)
        answer = self._get(last_uploadings_endpoint(counter), params)
        return uploadings_from_answer(answer)

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

    def list_counters(self) -> list[dict[str, Any]]:
        """
        Return the counters the token may use (``id``, ``name``, ``time_zone_name``...; needs
        ``metrika:read``). Only the first page (Metrika's default page size) is read.
        """
        answer = self._get(COUNTERS_ENDPOINT)
        if not isinstance(answer, dict) or not isinstance(answer.get("counters"), list):
            raise MetrikaError("the counters answer has no 'counters' list")
        return [counter for counter in answer["counters"] if isinstance(counter, dict)]

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

    def get_linked_orders(
        self, counter_id: int | str | None, date1: Any, date2: Any, *, page_size: int = REPORT_PAGE_ROWS
    ) -> LinkedOrders:
        """
        Return the CRM orders Metrika linked to visits, by day, from the Reports API (``metrika:read``).

        :param counter_id: the counter, or None for the connection's default counter.
        :param date1: the first day (date or ``YYYY-MM-DD``, the counter's time zone).
        :param date2: the last day.
        :param page_size: rows per request; more pages are read while ``total_rows`` says so.
        """
        query = LinkedOrdersQuery(self.resolve_counter_id(counter_id), date1, date2, page_size=page_size)
        return query.fetch(lambda params: self._get(REPORTS_ENDPOINT, params), self.metrika_conn_id)

    def get_counter_timezone(self, counter_id: int | str | None) -> str:
        """Return the IANA zone in which Metrika reads the counter's order dates (needs ``metrika:read``)."""
        return str(self.get_counter(counter_id).get("time_zone_name") or "Europe/Moscow")

    def test_connection(self) -> tuple[bool, str]:
        """
        Tell what the connection's token can do on its default counter; nothing is uploaded.

        Without a default counter, the token alone is checked by listing the counters it reaches.

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
        # A person is waiting on the form's "Test" button: one try, no backoff.
        retry_limit, self._retry_args["retry_limit"] = self._retry_args["retry_limit"], 0
        try:
            if counter is None:
                return token_verdict(self._probe(self.list_counters), who)
            info = self._probe(lambda: self.get_counter(counter))
            listed = self._probe(lambda: self.list_uploadings(counter, limit=1))
        except MetrikaError as exc:
            return False, failure_text(exc, counter, base_url, who)
        finally:
            self._retry_args["retry_limit"] = retry_limit
        return connection_verdict(counter, info, listed is not None, who)

    def _probe(self, call: Any) -> Any:
        """Return the call's answer, or None when Metrika refuses it with 403."""
        try:
            return call()
        except MetrikaAccessDeniedError:
            return None

    # -- async twins for triggers ------------------------------------------------------------------

    async def _aget(self, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        connection = await get_async_connection(self.metrika_conn_id, hook=self)
        token = await atoken_from_connection(connection)
        url = f"{base_url_from_connection(connection)}/{endpoint}"
        policy = retry_policy(self._retry_args, normalise_extras(await get_async_extra_dejson(connection)))
        headers = {"Authorization": f"OAuth {token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        timeout = aiohttp.ClientTimeout(total=self.read_timeout, connect=self.connect_timeout)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            try:
                async for attempt in policy.async_retrying(is_retryable, self.log, f"GET {endpoint}"):
                    with attempt:
                        return await aget_json(session, url, params)
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
        answer = await self._aget(last_uploadings_endpoint(counter), list_params(limit, datetime_offset))
        return uploadings_from_answer(answer)

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

    async def aget_linked_orders(
        self, counter_id: int | str | None, date1: Any, date2: Any, *, page_size: int = REPORT_PAGE_ROWS
    ) -> LinkedOrders:
        """Asynchronous twin of :meth:`get_linked_orders`."""
        query = LinkedOrdersQuery(check_counter_id(counter_id), date1, date2, page_size=page_size)
        return await query.afetch(lambda params: self._aget(REPORTS_ENDPOINT, params), self.metrika_conn_id)
