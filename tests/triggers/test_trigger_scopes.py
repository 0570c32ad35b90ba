"""MetrikaUploadingTrigger with a token that may not list uploadings: one error event naming the scope."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.exceptions import MetrikaError
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger
from airflow_provider_metrika.waiting.uploadings import result_from_event
from tests.conftest import COUNTER, SCOPED_TOKENS, connection_json
from tests.triggers.test_uploading_trigger import run_to_end

UPLOAD_ONLY = "tok-UPLOADONLY-0a1b"


async def test_an_upload_only_token_yields_one_error_event_naming_metrika_read(
    metrika: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SCOPED_TOKENS[UPLOAD_ONLY] == ["metrika:offline_data"]
    metrika.configure(last_uploadings_needs_read=True)
    monkeypatch.setenv(
        "AIRFLOW_CONN_METRIKA_UPLOAD_ONLY", connection_json(metrika.base_url, token=UPLOAD_ONLY)
    )
    trigger = MetrikaUploadingTrigger(
        metrika_conn_id="metrika_upload_only",
        counter_id=COUNTER,
        uploading_ids=["some-id"],
        poll_interval=0.05,
        deadline=time.time() + 10,
    )

    [event] = await run_to_end(trigger)

    assert event["status"] == "error"
    assert "MetrikaAccessDeniedError" in event["message"]
    assert "Connection 'metrika_upload_only'" in event["message"]
    assert "may lack metrika:read" in event["message"]
    assert UPLOAD_ONLY not in json.dumps(event)
    assert trigger.polls == 1, "a 403 is not polled again"
    with pytest.raises(MetrikaError, match="may lack metrika:read"):
        result_from_event(event)
