"""OAuth scopes: the emulator answers 403 as Metrika does for what a token may not do."""

from __future__ import annotations

import pytest

from airflow_provider_metrika.emulator.__main__ import build_parser, settings_from_args
from airflow_provider_metrika.emulator.testing import EmulatorClient
from tests.emulator.helpers import COUNTER, SAMPLE_CSV, MetrikaApi, error_of

READ = "metrika:read"
WRITE = "metrika:write"
OFFLINE = "metrika:offline_data"
#: Every scope combination that matters, and whether it may upload, read the counter, list uploadings
#: (by default, and when last_uploadings needs metrika:read).
SCOPE_CASES = [
    ([], False, False, False, False),
    ([OFFLINE], True, False, True, False),
    ([WRITE], True, False, True, False),
    ([READ], False, True, True, True),
    ([OFFLINE, READ], True, True, True, True),
    ([WRITE, READ], True, True, True, True),
    (["metrika:expenses"], False, False, False, False),
]


def _status(response_code: int, allowed: bool, response: object) -> None:
    if allowed:
        assert response_code == 200, getattr(response, "text", "")
    else:
        assert error_of(response) == (403, "access_denied")  # type: ignore[arg-type]


@pytest.mark.parametrize("needs_read", [False, True], ids=["list-any-scope", "list-needs-read"])
@pytest.mark.parametrize(
    ("scopes", "upload", "counter", "listing", "listing_with_read"),
    SCOPE_CASES,
    ids=["+".join(case[0]) or "no-scopes" for case in SCOPE_CASES],
)
def test_each_endpoint_needs_its_scope(
    api: MetrikaApi,
    emulator: EmulatorClient,
    scopes: list[str],
    upload: bool,
    counter: bool,
    listing: bool,
    listing_with_read: bool,
    needs_read: bool,
) -> None:
    emulator.configure(
        tokens={"scoped": {"counters": None, "scopes": scopes}}, last_uploadings_needs_read=needs_read
    )

    uploaded = api.upload(SAMPLE_CSV, token="scoped")
    read = api.counter(token="scoped")
    listed = api.last_uploadings(token="scoped")

    _status(uploaded.status_code, upload, uploaded)
    _status(read.status_code, counter, read)
    _status(listed.status_code, listing_with_read if needs_read else listing, listed)
    assert len(emulator.uploadings(COUNTER)) == (1 if upload else 0)


def test_scope_denial_is_metrikas_bare_access_denied(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(tokens={"upload-only": {"scopes": [OFFLINE]}})

    body = api.counter(token="upload-only").json()

    assert body["message"] == "Access is denied"


def test_scopes_and_counters_combine(api: MetrikaApi, emulator: EmulatorClient) -> None:
    emulator.configure(tokens={"narrow": {"counters": [COUNTER], "scopes": [OFFLINE]}})

    assert api.upload(SAMPLE_CSV, token="narrow").status_code == 200
    assert error_of(api.upload(SAMPLE_CSV, token="narrow", counter=67890)) == (403, "access_denied")


def test_config_shows_scoped_tokens_and_keeps_plain_ones_plain(emulator: EmulatorClient) -> None:
    config = emulator.configure(
        tokens={"plain": None, "limited": [COUNTER], "scoped": {"scopes": [READ, OFFLINE]}}
    )

    assert config["tokens"] == {
        "plain": None,
        "limited": [COUNTER],
        "scoped": {"counters": None, "scopes": [OFFLINE, READ]},
    }
    assert config["last_uploadings_needs_read"] is False


def test_unknown_scope_is_refused_by_config(emulator: EmulatorClient) -> None:
    with pytest.raises(Exception, match="400"):
        emulator.configure(tokens={"t": {"scopes": ["metrika:everything"]}})


def test_reset_restores_the_startup_last_uploadings_rule(emulator: EmulatorClient) -> None:
    emulator.configure(last_uploadings_needs_read=True)

    emulator.reset()

    assert emulator.config()["last_uploadings_needs_read"] is False


def _settings(*argv: str):
    return settings_from_args(build_parser().parse_args(list(argv)))


def test_cli_token_takes_scopes_after_a_colon() -> None:
    settings = _settings(
        "--token",
        "up:metrika:offline_data,metrika:read",
        "--token",
        "both=12345:metrika:write",
        "--token",
        "all",
        "--token",
        "none:",
        "--last-uploadings-needs-read",
    )

    assert settings.tokens == {"up": None, "both": frozenset({12345}), "all": None, "none": None}
    assert settings.token_scopes == {
        "up": frozenset({OFFLINE, READ}),
        "both": frozenset({WRITE}),
        "none": frozenset(),
    }
    assert settings.last_uploadings_needs_read is True


def test_cli_refuses_an_unknown_scope() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--token", "t:metrika:everything"])


def test_run_emulator_passes_scoped_tokens_to_the_process() -> None:
    from airflow_provider_metrika.emulator.testing import run_emulator

    with run_emulator(
        tokens={"up": {"counters": [COUNTER], "scopes": [OFFLINE]}, "plain": None},
        last_uploadings_needs_read=True,
    ) as client:
        api = MetrikaApi(client.base_url)
        assert api.upload(SAMPLE_CSV, token="up").status_code == 200
        assert error_of(api.counter(token="up")) == (403, "access_denied")
        assert error_of(api.last_uploadings(token="up")) == (403, "access_denied")
        assert api.counter(token="plain").status_code == 200
        assert client.config()["tokens"]["up"] == {"counters": [COUNTER], "scopes": [OFFLINE]}
