"""The sync state store on an object store other than local disk (fsspec's in-memory filesystem)."""

from __future__ import annotations

import uuid
from pathlib import Path

from airflow_provider_metrika.operators.sync_state_store import (
    commit_state,
    keep_pending,
    load_state,
    pending_location,
    state_location,
)
from airflow_provider_metrika.simple_orders.sync_state import Destination
from tests.simple_orders.helpers import prepare_text

HERE = Destination("api-metrika.yandex.net", 12345)
ORDERS = (
    "id,create_date_time,emails,revenue\n"
    "o-1,2024-01-10 10:00:00,a@example.com,100\n"
    "o-2,2024-01-10 11:00:00,b@example.com,200\n"
)
CHANGED = ORDERS.replace(",200", ",250")


def test_a_state_in_object_storage_is_written_whole_read_back_and_updated(tmp_path: Path) -> None:
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())  # as a provider registers s3:// or gs://
    base = f"memory://metrika-state-{uuid.uuid4().hex[:8]}/daily/"
    location = state_location(base, HERE)
    assert location.name == "metrika-simple-orders-api-metrika.yandex.net-12345.parquet"
    assert load_state(location, HERE).orders == 0, "no state yet: every order is new"

    first = prepare_text(ORDERS, tmp_path / "1", sync_state=load_state(location, HERE))
    assert first.sent_orders is not None
    saved = commit_state(location, HERE, first.sent_orders, first.report.columns, rebuild=False)

    assert (saved.orders, saved.conflicts) == (2, 0)
    assert saved.bytes == location.stat().st_size
    assert [path.name for path in location.parent.iterdir()] == [location.name], "no temporary file left"

    changed = prepare_text(
        ORDERS.replace(",200", ",250"), tmp_path / "2", sync_state=load_state(location, HERE)
    )
    assert (changed.report.orders_changed, changed.report.orders_unchanged) == (1, 1)
    assert changed.sent_orders is not None
    pending = pending_location(location, "dag\nrun\nsync\n-1")
    keep_pending(changed.sent_orders, pending)
    assert pending.name.startswith(f".{location.name}.")
    saved = commit_state(location, HERE, pending, changed.report.columns, rebuild=False)
    pending.unlink()

    again = prepare_text(
        ORDERS.replace(",200", ",250"), tmp_path / "3", sync_state=load_state(location, HERE)
    )
    assert (saved.orders, again.parts, again.report.orders_unchanged) == (2, [], 2)
