"""Round trip: every part the orders core writes is accepted by the emulator and read back unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.emulator.testing import EmulatorClient
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.simple_orders import prepare_simple_orders
from bench._common import orders_frame
from tests.conftest import COUNTER, SAMPLE_CSV


def _written_rows(parts: list[Path], delimiter: str) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for part in parts:
        with part.open(newline="", encoding="utf-8") as stream:
            for row in csv.DictReader(stream, delimiter=delimiter):
                rows[row["id"]] = row
    return rows


@pytest.mark.parametrize("hash_identifiers", [False, True], ids=["raw", "hashed"])
@pytest.mark.parametrize("delimiter", ["COMMA", "SEMICOLON"])
def test_parts_of_realistic_orders_pass_and_are_stored_with_the_values_written(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path, hash_identifiers: bool, delimiter: str
) -> None:
    frame = orders_frame(3000, seed=11)
    prepared = prepare_simple_orders(
        frame,
        tmp_path / "out",
        timezone="Europe/Moscow",
        hash_identifiers=hash_identifiers,
        delimiter=delimiter,
        max_part_bytes=150_000,
        rewrite_leading_8=True,
    )
    hook = MetrikaHook(metrika_conn)

    assert len(prepared.parts) > 1
    for part in prepared.parts:
        uploading = upload_simple_orders(hook, COUNTER, part.path, delimiter_type=delimiter)
        assert uploading["api_validation_status"] == "PASSED", uploading.get("api_validation_errors")
        assert uploading["elements_count"] == part.rows

    written = _written_rows([p.path for p in prepared.parts], ";" if delimiter == "SEMICOLON" else ",")
    stored = metrika.orders(COUNTER)["orders"]
    assert len(written) == prepared.report.rows_written == len(stored)
    for order_id, row in written.items():
        assert {column: stored[order_id][column] for column in row} == row
    if hash_identifiers:
        assert not any(order["emails"] or order["phones"] for order in stored.values())


def test_official_sample_round_trips_through_the_emulator_unchanged_in_meaning(
    metrika: EmulatorClient, metrika_conn: str, tmp_path: Path
) -> None:
    prepared = prepare_simple_orders(io.BytesIO(SAMPLE_CSV), tmp_path / "out", timezone="Europe/Moscow")
    [part] = prepared.parts

    uploading = upload_simple_orders(MetrikaHook(metrika_conn), COUNTER, part.path)

    assert uploading["api_validation_status"] == "PASSED"
    stored = metrika.orders(COUNTER)
    first = stored["orders"]["s_ord1"]
    assert first["create_date_time"] == "2024-01-10 11:56:00"
    assert first["emails"] == "mail@example.com,mail2@example.com"
    assert first["goals"] == "oplata_cash:200,filial_1"
    assert (first["order_status"], first["revenue"], first["cost"]) == ("PAID", "200", "150")
    assert stored["orders"]["s_ord2"]["currency"] == "EUR"
    [no_id] = stored["orders_without_id"]
    assert (no_id["create_date_time"], no_id["phones"], no_id["order_status"]) == (
        "2024-02-12",
        "79876543210",
        "SPAM",
    )
