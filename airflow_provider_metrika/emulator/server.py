"""Run the emulator as a server until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from airflow_provider_metrika.emulator.app import create_app
from airflow_provider_metrika.emulator.state import EmulatorSettings

LISTENING_MESSAGE = "Metrika emulator listening on http://{host}:{port}"
#: In-flight requests get this long to finish once a stop signal arrives.
SHUTDOWN_TIMEOUT_SECONDS = 2.0


async def serve(settings: EmulatorSettings, host: str, port: int) -> None:
    """Serve until a stop signal, announcing the bound port on stdout.

    The announcement is the only stdout line, so a parent process can read the port from it.

    :param settings: tokens, counters and pacing.
    :param host: interface to bind.
    :param port: TCP port; 0 picks a free one.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # aiohttp's access log prints query strings; the API middleware logs a safer line instead.
    runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        sys.stdout.write(LISTENING_MESSAGE.format(host=host, port=bound_port) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await runner.cleanup()


def run(settings: EmulatorSettings, host: str, port: int) -> None:
    """Run :func:`serve` in a fresh event loop.

    :param settings: tokens, counters and pacing.
    :param host: interface to bind.
    :param port: TCP port; 0 picks a free one.
    """
    asyncio.run(serve(settings, host, port))
