"""Command line: ``metrika-emulator`` / ``python -m airflow_provider_metrika.emulator``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from airflow_provider_metrika.emulator.constants import (
    DEFAULT_COUNTER_ID,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TIME_ZONE,
    DEFAULT_TOKEN,
)
from airflow_provider_metrika.emulator.goals import parse_goals
from airflow_provider_metrika.emulator.scopes import parse_scopes
from airflow_provider_metrika.emulator.server import run
from airflow_provider_metrika.emulator.state import EmulatorSettings, parse_counter_id


def _token(text: str) -> tuple[str, frozenset[int] | None, frozenset[str] | None]:
    """Read ``TOKEN[=ID,ID...][:SCOPE,SCOPE...]``; no ``:`` grants every scope, a bare ``:`` none."""
    grant, colon, scopes = text.partition(":")
    token, _, counters = grant.partition("=")
    if not token:
        raise argparse.ArgumentTypeError("a token must not be empty")
    try:
        allowed = frozenset(parse_counter_id(c) for c in counters.split(",")) if counters else None
        granted = parse_scopes(s for s in scopes.split(",") if s) if colon else None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return token, allowed, granted


def _counter(text: str) -> tuple[int, str]:
    counter_id, _, time_zone = text.partition(":")
    try:
        return parse_counter_id(counter_id), time_zone or DEFAULT_TIME_ZONE
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _goal(text: str) -> tuple[int, str]:
    counter_id, _, identifier = text.partition(":")
    if not identifier:
        raise argparse.ArgumentTypeError("a goal is COUNTER_ID:IDENTIFIER, e.g. 12345:dostavka")
    try:
        return parse_counter_id(counter_id), identifier
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="metrika-emulator",
        description="Local emulator of the Yandex Metrika CDP simplified orders API, for tests.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one")
    parser.add_argument(
        "--token",
        action="append",
        type=_token,
        default=[],
        metavar="TOKEN[=ID,ID...][:SCOPE,SCOPE...]",
        help="accepted OAuth token, optionally limited to counters and to scopes such as "
        "metrika:offline_data,metrika:read (without ':', every scope) "
        f"(repeatable; default {DEFAULT_TOKEN})",
    )
    parser.add_argument(
        "--counter",
        action="append",
        type=_counter,
        default=[],
        metavar="ID[:TIME_ZONE]",
        help=f"existing counter (repeatable; default {DEFAULT_COUNTER_ID}:{DEFAULT_TIME_ZONE})",
    )
    parser.add_argument(
        "--goal",
        action="append",
        type=_goal,
        default=[],
        metavar="ID:IDENTIFIER",
        help="a JavaScript goal of a counter (repeatable); a counter given none has sample goals",
    )
    parser.add_argument("--listing-delay", type=float, default=0.0, help="seconds before an upload is listed")
    parser.add_argument(
        "--status-delay", type=float, default=0.0, help="seconds a listed upload reads IN_PROGRESS"
    )
    parser.add_argument("--parallel-limit", type=int, default=None, help="parallel API requests per token")
    parser.add_argument(
        "--last-uploadings-needs-read",
        action="store_true",
        help="answer last_uploadings only to tokens with metrika:read (Metrika's docs do not say)",
    )
    parser.add_argument(
        "--no-store-orders", action="store_true", help="validate uploads but keep no orders (huge files)"
    )
    parser.add_argument(
        "--no-echo-titles", action="store_true", help="leave uploading_title out of answers and listings"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> EmulatorSettings:
    """Turn parsed arguments into settings, applying the defaults for tokens and counters.

    :param args: the parsed command line.
    """
    settings = EmulatorSettings(
        listing_delay=args.listing_delay,
        status_delay=args.status_delay,
        parallel_limit=args.parallel_limit,
        store_orders=not args.no_store_orders,
        echo_titles=not args.no_echo_titles,
        last_uploadings_needs_read=args.last_uploadings_needs_read,
    )
    if args.token:
        settings.tokens = {token: counters for token, counters, _ in args.token}
        settings.token_scopes = {token: scopes for token, _, scopes in args.token if scopes is not None}
    if args.counter:
        settings.counters = dict(args.counter)
    if args.goal:
        identifiers: dict[str, list[object]] = {}
        for counter_id, identifier in args.goal:
            identifiers.setdefault(str(counter_id), []).append(identifier)
        settings.goals = parse_goals(identifiers)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT.

    :param argv: arguments without the program name; ``sys.argv`` when omitted.
    """
    args = build_parser().parse_args(argv)
    if args.listing_delay < 0 or args.status_delay < 0:
        build_parser().error("delays must not be negative")
    if args.parallel_limit is not None and args.parallel_limit < 1:
        build_parser().error("--parallel-limit must be at least 1")
    # Logs go to stderr: stdout carries only the "listening" line a parent process waits for.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        run(settings_from_args(args), args.host, args.port)
    except OSError as exc:
        # Typically the port is taken; one line is clearer to a parent process than a traceback.
        print(f"metrika-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
