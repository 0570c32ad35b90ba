"""Start the emulator from tests and drive it through its control API.

A session fixture in a user's ``conftest.py``::

    import pytest

    from airflow_provider_metrika.emulator.testing import EmulatorClient, run_emulator


    @pytest.fixture(scope="session")
    def metrika_emulator():
        with run_emulator(tokens={"test-token": [12345]}, counters={12345: "Europe/Moscow"}) as emulator:
            yield emulator


    @pytest.fixture
    def metrika(metrika_emulator: EmulatorClient) -> EmulatorClient:
        metrika_emulator.reset()
        return metrika_emulator

A test then points its Metrika connection at ``metrika.base_url`` (token ``test-token``), runs the
code under test and checks ``metrika.orders(12345)``, ``metrika.uploadings(12345)`` or
``metrika.api_requests(path_contains="simple_orders")``; ``metrika.inject_faults({"target": "upload",
"status": 503})`` makes the next upload fail.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from requests import Response, Session

from airflow_provider_metrika.emulator.constants import CONTROL_PREFIX, DEFAULT_COUNTER_ID, DEFAULT_HOST
from airflow_provider_metrika.emulator.expenses_testing import ExpensesControl
from airflow_provider_metrika.emulator.offline_testing import OfflineControl

_LISTENING = re.compile(r"Metrika emulator listening on (http://\S+)")
_POLL_SECONDS = 0.05

#: What a token may do: ``None`` (every counter and scope), its counter ids, or
#: ``{"counters": [...] | None, "scopes": ["metrika:offline_data", ...] | None}``.
TokenGrant = Iterable[int] | Mapping[str, Any] | None


def _grant_json(grant: TokenGrant) -> object:
    if grant is None:
        return None
    if isinstance(grant, Mapping):
        counters, scopes = grant.get("counters"), grant.get("scopes")
        return {
            **grant,
            "counters": None if counters is None else list(counters),
            "scopes": None if scopes is None else list(scopes),
        }
    return list(grant)


def _grant_argument(token: str, grant: TokenGrant) -> str:
    """Render a token for ``--token TOKEN[=ID,...][:SCOPE,...]``."""
    scopes = None
    counters: Iterable[int] | None = None
    if isinstance(grant, Mapping):
        counters, scopes = grant.get("counters"), grant.get("scopes")
    elif grant is not None:
        counters = grant
    text = token if counters is None else f"{token}={','.join(map(str, counters))}"
    return text if scopes is None else f"{text}:{','.join(scopes)}"


class EmulatorStartupError(RuntimeError):
    """The emulator process exited or stayed silent instead of announcing its port."""


class EmulatorClient(OfflineControl, ExpensesControl):
    """Talk to a running emulator's control API (offline data: :class:`.OfflineControl`, expenses:
    :class:`.ExpensesControl`).

    :param base_url: the emulator's root URL, e.g. ``http://127.0.0.1:8765``; also the Metrika host
        to give the code under test.
    :param timeout: seconds to wait for each control call.
    :param process: the process serving ``base_url``, when this library started it.
    """

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, process: EmulatorProcess | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.process = process
        self._session = Session()

    def _call(self, method: str, path: str, json: object = None) -> Any:
        response: Response = self._session.request(
            method, f"{self.base_url}{CONTROL_PREFIX}{path}", json=json, timeout=self.timeout
        )
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget orders, uploadings, logged requests and faults; restore the startup delays and limits."""
        self._call("POST", "/reset")

    def configure(self, **settings: object) -> dict[str, Any]:
        """Change settings and return all of them.

        :param settings: any of ``tokens`` (token to a list of counter ids, ``None`` for all, or
            ``{"counters": [...] | None, "scopes": [...] | None}``), ``counters`` (counter id to time
            zone), ``listing_delay``, ``status_delay``, ``hold_listing`` (uploadings created while on
            are listed only after :meth:`release`), ``parallel_limit``, ``max_file_bytes``,
            ``store_orders``, ``echo_titles``, ``last_uploadings_needs_read``, ``goals`` (counter id to
            a list of goal objects, or of JavaScript goal identifiers as shorthand). ``tokens``,
            ``counters`` and ``goals`` replace the current ones whole; ``reset`` restores the startup
            goals.
        """
        payload: dict[str, object] = dict(settings)
        counters = payload.get("counters")
        if isinstance(counters, Mapping):
            payload["counters"] = {str(counter_id): zone for counter_id, zone in counters.items()}
        goals = payload.get("goals")
        if isinstance(goals, Mapping):
            payload["goals"] = {str(counter_id): list(items) for counter_id, items in goals.items()}
        tokens = payload.get("tokens")
        if isinstance(tokens, Mapping):
            payload["tokens"] = {token: _grant_json(grant) for token, grant in tokens.items()}
        result: dict[str, Any] = self._call("POST", "/config", payload)
        return result

    def config(self) -> dict[str, Any]:
        """Return the current settings."""
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def inject_faults(self, *faults: Mapping[str, object]) -> list[dict[str, Any]]:
        """Queue faults for the next API requests and return every fault now waiting.

        :param faults: e.g. ``{"target": "upload", "status": 429, "retry_after": "2"}``; fields:
            ``target`` (``upload``, ``last_uploadings``, ``counter``, ``counters``, ``goals``, ``reports``,
            ``conversions_upload``, ``calls_upload`` and the offline reads ``conversions_uploading``,
            ``conversions_uploadings``, ``conversions_threshold`` and their ``calls_`` twins, ``any``),
            ``times``, ``status``, ``error_type``, ``retry_after``, ``after_processing``, ``drop``
            (``before``/``after``), ``delay``, ``hold`` (wait for :meth:`release`, ``delay`` seconds
            at most), ``validation`` (``FAILED``: answered as usual, listed FAILED, nothing stored),
            ``message`` (the error body's message).
        """
        result: list[dict[str, Any]] = self._call("POST", "/faults", {"faults": [dict(f) for f in faults]})[
            "faults"
        ]
        return result

    def held(self) -> int:
        """Return how many requests ``hold`` faults are holding now."""
        return int(self._call("GET", "/held")["held"])

    def wait_until_held(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``hold`` faults hold ``count`` requests at once.

        :param count: the requests expected in flight.
        :param timeout: seconds before failing.
        :raises TimeoutError: when fewer are held by then.
        """
        deadline = time.monotonic() + timeout
        while (held := self.held()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{held} request(s) held after {timeout:.0f} s, expected {count}")
            time.sleep(0.02)

    def release(self) -> int:
        """Let requests held by ``hold`` faults go on and list uploadings held by ``hold_listing``.

        :return: how many requests were held.
        """
        return int(self._call("POST", "/release")["released"])

    def clear_faults(self) -> None:
        """Forget every fault still waiting."""
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        """Return the faults still waiting, with their remaining ``times``."""
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def requests(self) -> list[dict[str, Any]]:
        """Return every API request received since the last reset, oldest first."""
        result: list[dict[str, Any]] = self._call("GET", "/requests")["requests"]
        return result

    def api_requests(
        self, path_contains: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the logged API requests that match, oldest first.

        :param path_contains: keep requests whose path contains this text, e.g. ``"simple_orders"``.
        :param method: keep requests with this HTTP method.
        """
        return [
            entry
            for entry in self.requests()
            if (path_contains is None or path_contains in entry["path"])
            and (method is None or entry["method"] == method.upper())
        ]

    def orders(self, counter_id: int) -> dict[str, Any]:
        """Return ``{"orders": {...}, "orders_without_id": [...], "applied_counts": {...}}`` of a counter.

        :param counter_id: the counter.
        """
        result: dict[str, Any] = self._call("GET", f"/counters/{counter_id}/orders")
        return result

    def uploadings(self, counter_id: int) -> list[dict[str, Any]]:
        """Return every uploading of a counter, newest first, whatever the listing delay.

        :param counter_id: the counter.
        """
        result: list[dict[str, Any]] = self._call("GET", f"/counters/{counter_id}/uploadings")["uploadings"]
        return result

    def seed_visits(
        self, visits: Iterable[Mapping[str, object]], counter_id: int = DEFAULT_COUNTER_ID
    ) -> int:
        """Add visits that uploaded orders can link to, and return how many the counter has.

        The linking rules are the emulator's model (see :mod:`.linking`): an order links when one of
        its identifiers, raw or MD5, matches a visit within the 21 days before its creation.

        :param visits: e.g. ``[{"time": "2024-01-09 10:00", "email": "a@example.com"}]``; keys
            ``time`` (the counter's wall clock), ``client_id``, ``email``, ``phone``.
        :param counter_id: the counter.
        """
        body = {"visits": [dict(visit) for visit in visits]}
        result: int = self._call("POST", f"/counters/{counter_id}/visits", body)["visits"]
        return result

    def visits(self, counter_id: int = DEFAULT_COUNTER_ID) -> list[dict[str, Any]]:
        """Return the visits seeded for a counter.

        :param counter_id: the counter.
        """
        result: list[dict[str, Any]] = self._call("GET", f"/counters/{counter_id}/visits")["visits"]
        return result

    def close(self) -> None:
        """Release the HTTP connections."""
        self._session.close()


class EmulatorProcess:
    """The emulator run as a child process in its own process group.

    Its stdout and stderr go to temporary files, readable through :attr:`stdout` and :attr:`stderr`
    while it runs and after it stopped.

    :param host: interface to bind.
    :param port: TCP port; 0 picks a free one.
    :param tokens: token to the counter ids it may use (``None`` for all), or to
        ``{"counters": [...] | None, "scopes": [...] | None}``; the emulator's default token when omitted.
    :param counters: counter id to time zone; the emulator's default counter when omitted.
    :param listing_delay: seconds before an uploading is listed.
    :param status_delay: seconds a listed uploading reads ``IN_PROGRESS``.
    :param parallel_limit: parallel API requests allowed per token.
    :param store_orders: keep applied orders.
    :param last_uploadings_needs_read: answer ``last_uploadings`` only to tokens with ``metrika:read``.
    :param startup_timeout: seconds to wait for the "listening" line.
    :param stop_timeout: seconds between SIGTERM and SIGKILL.

    :attr:`returncode` holds the exit code once stopped (0 after a clean SIGTERM shutdown).
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        tokens: Mapping[str, TokenGrant] | None = None,
        counters: Mapping[int, str] | None = None,
        listing_delay: float = 0.0,
        status_delay: float = 0.0,
        parallel_limit: int | None = None,
        store_orders: bool = True,
        last_uploadings_needs_read: bool = False,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.tokens = tokens
        self.counters = counters
        self.listing_delay = listing_delay
        self.status_delay = status_delay
        self.parallel_limit = parallel_limit
        self.store_orders = store_orders
        self.last_uploadings_needs_read = last_uploadings_needs_read
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir: Path | None = None
        self._captured = {"stdout": "", "stderr": ""}
        self._client: EmulatorClient | None = None
        self.returncode: int | None = None

    def command(self) -> list[str]:
        """Return the command line that starts the emulator."""
        command = [sys.executable, "-m", "airflow_provider_metrika.emulator"]
        command += ["--host", self.host, "--port", str(self.port)]
        for token, grant in (self.tokens or {}).items():
            command += ["--token", _grant_argument(token, grant)]
        for counter_id, time_zone in (self.counters or {}).items():
            command += ["--counter", f"{counter_id}:{time_zone}"]
        command += ["--listing-delay", str(self.listing_delay), "--status-delay", str(self.status_delay)]
        if self.parallel_limit is not None:
            command += ["--parallel-limit", str(self.parallel_limit)]
        if not self.store_orders:
            command.append("--no-store-orders")
        if self.last_uploadings_needs_read:
            command.append("--last-uploadings-needs-read")
        return command

    @property
    def pid(self) -> int | None:
        """Return the process id (also its process group id), once started."""
        return self._process.pid if self._process else None

    @property
    def client(self) -> EmulatorClient:
        """Return the control client of the running emulator."""
        if self._client is None:
            raise RuntimeError("the emulator is not running")
        return self._client

    @property
    def stdout(self) -> str:
        """Return what the emulator wrote to stdout so far."""
        return self._read("stdout")

    @property
    def stderr(self) -> str:
        """Return what the emulator wrote to stderr (its request log) so far."""
        return self._read("stderr")

    def _read(self, stream: str) -> str:
        if self._log_dir is None:
            return self._captured[stream]
        return (self._log_dir / f"{stream}.log").read_text(encoding="utf-8", errors="replace")

    def start(self) -> EmulatorClient:
        """Start the process and wait until it listens.

        :raises EmulatorStartupError: when it exits or does not announce its port in time; the
            message includes its stderr.
        """
        if self._process is not None:
            raise RuntimeError("the emulator is already started")
        self._log_dir = Path(tempfile.mkdtemp(prefix="metrika-emulator-"))
        with (
            (self._log_dir / "stdout.log").open("wb") as out,
            (self._log_dir / "stderr.log").open("wb") as err,
        ):
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            base_url = self._wait_for_listening()
        except BaseException:
            self.stop()
            raise
        self._client = EmulatorClient(base_url, process=self)
        return self._client

    def _wait_for_listening(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.stdout)
            if match:
                return match.group(1)
            if self._process.poll() is not None:
                raise EmulatorStartupError(
                    f"the Metrika emulator exited with code {self._process.returncode} before listening; "
                    f"stderr:\n{self.stderr}"
                )
            time.sleep(_POLL_SECONDS)
        raise EmulatorStartupError(
            f"the Metrika emulator did not listen within {self.startup_timeout} s; stderr:\n{self.stderr}"
        )

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after :attr:`stop_timeout` seconds."""
        if self._client is not None:
            self._client.close()
            self._client = None
        process, self._process = self._process, None
        if process is not None:
            self._terminate_group(process)
        if self._log_dir is not None:
            self._captured = {"stdout": self.stdout, "stderr": self.stderr}
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def _terminate_group(self, process: subprocess.Popen[bytes]) -> None:
        # The process leads its own group (start_new_session), so its pid is the group id.
        group = process.pid
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            process.wait()
        self.returncode = process.returncode
        # Anything the emulator left behind in its group goes too.
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    def __enter__(self) -> EmulatorClient:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def run_emulator(
    port: int = 0,
    tokens: Mapping[str, TokenGrant] | None = None,
    counters: Mapping[int, str] | None = None,
    listing_delay: float = 0.0,
    status_delay: float = 0.0,
    parallel_limit: int | None = None,
    *,
    host: str = DEFAULT_HOST,
    store_orders: bool = True,
    last_uploadings_needs_read: bool = False,
    startup_timeout: float = 30.0,
    stop_timeout: float = 5.0,
) -> Iterator[EmulatorClient]:
    """Run the emulator for the duration of a ``with`` block and yield its control client.

    The process is stopped, with its whole process group, when the block exits, even on error;
    ``client.process`` gives its pid and output.

    :param port: TCP port; 0 picks a free one.
    :param tokens: token to the counter ids it may use (``None`` for all), or to
        ``{"counters": [...] | None, "scopes": ["metrika:offline_data", ...] | None}`` (scopes
        ``None``: every scope); ``emulator-token`` with access to every counter when omitted.
    :param counters: counter id to time zone; counter 12345 in Europe/Moscow when omitted.
    :param listing_delay: seconds before an uploading is listed.
    :param status_delay: seconds a listed uploading reads ``IN_PROGRESS``.
    :param parallel_limit: parallel API requests allowed per token.
    :param host: interface to bind.
    :param store_orders: keep applied orders.
    :param last_uploadings_needs_read: answer ``last_uploadings`` only to tokens with ``metrika:read``.
    :param startup_timeout: seconds to wait for the emulator to listen.
    :param stop_timeout: seconds between SIGTERM and SIGKILL.
    """
    process = EmulatorProcess(
        host=host,
        port=port,
        tokens=tokens,
        counters=counters,
        listing_delay=listing_delay,
        status_delay=status_delay,
        parallel_limit=parallel_limit,
        store_orders=store_orders,
        last_uploadings_needs_read=last_uploadings_needs_read,
        startup_timeout=startup_timeout,
        stop_timeout=stop_timeout,
    )
    with process as client:
        yield client


__all__ = ["EmulatorClient", "EmulatorProcess", "EmulatorStartupError", "run_emulator"]
