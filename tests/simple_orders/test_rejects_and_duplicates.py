"""Skip mode writes rejects.csv; duplicate ids are refused or resolved to the last row, never silently."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import InvalidOrdersError, RowProblem, prepare_simple_orders
from airflow_provider_metrika.simple_orders import duplicates as duplicates_module

from .helpers import part_dicts, prepare_text

MIXED = (
    "id,create_date_time,emails,revenue\n"
    "o1,10.01.2024,mail@example.com,10\n"
    "o2,31.02.2024,second@example.com,20\n"
    "o3,11.01.2024,not-an-email,-3\n"
    "o4,12.01.2024,fourth@example.com,40\n"
)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_skip_writes_valid_rows_and_rejects_with_original_values_rows_and_reasons(tmp_path: Path) -> None:
    result = prepare_text(MIXED, tmp_path, on_invalid="skip", max_invalid_fraction=0.5)

    assert [row["id"] for row in part_dicts(result)] == ["o1", "o4"]
    report = result.report
    assert (report.rows_read, report.rows_written, report.rows_rejected) == (4, 2, 2)
    assert report.rejects_path == tmp_path / "rejects.csv"
    rejects = _read(tmp_path / "rejects.csv")
    assert [(row["id"], row["emails"], row["_row"]) for row in rejects] == [
        ("o2", "second@example.com", "2"),
        ("o3", "not-an-email", "3"),
    ]
    assert rejects[1]["_reasons"] == (
        "emails: is not a valid email (must contain @ and a domain); revenue: is negative (must be 0 or more)"
    )
    assert report.rejected_by_reason == {
        "create_date_time: is not a real date or time (day, month, hour, minute or second out of range)": 1,
        "emails: is not a valid email (must contain @ and a domain)": 1,
        "revenue: is negative (must be 0 or more)": 1,
    }


def test_skip_raises_when_rejected_share_exceeds_max_invalid_fraction_and_keeps_no_part(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(MIXED, tmp_path, on_invalid="skip", max_invalid_fraction=0.25)

    assert "2 of 4 rows (50.00%) were rejected, more than max_invalid_fraction=0.25" in str(caught.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rejects.csv"]
    assert caught.value.report.rejects_path == tmp_path / "rejects.csv"


def test_skip_with_default_fraction_refuses_any_rejected_row(tmp_path: Path) -> None:
    with pytest.raises(InvalidOrdersError, match="raise max_invalid_fraction"):
        prepare_text(MIXED, tmp_path, on_invalid="skip")


def test_fail_mode_deletes_parts_written_for_earlier_batches(tmp_path: Path) -> None:
    good = "".join(f"g{index},10.01.2024,mail@example.com,1\n" for index in range(50))
    text = "id,create_date_time,emails,revenue\n" + good + "bad,10.01.2024,nope,1\n"

    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path, batch_rows=10, max_part_bytes=300)

    assert caught.value.problems[0].row == 51
    assert list(tmp_path.iterdir()) == []


DUPLICATED = (
    "id,create_date_time,emails,revenue\n"
    "o1,10.01.2024,first@example.com,1\n"
    "o2,10.01.2024,second@example.com,2\n"
    "o1,11.01.2024,third@example.com,3\n"
    ",11.01.2024,noid@example.com,4\n"
    ",11.01.2024,noid2@example.com,5\n"
    "o2,12.01.2024,fifth@example.com,6\n"
    "o1,13.01.2024,sixth@example.com,7\n"
)


def test_duplicate_ids_are_an_error_listing_ids_and_rows(tmp_path: Path) -> None:
    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(DUPLICATED, tmp_path)

    assert caught.value.problems == [
        RowProblem(3, "id", "is repeated in rows 1, 3, 7", "o1"),
        RowProblem(6, "id", "is repeated in rows 2, 6", "o2"),
    ]
    assert str(caught.value).startswith("2 ids appear in more than one row (3 extra rows)")
    assert 'duplicates="keep_last"' in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_keep_last_keeps_each_ids_last_row_and_reports_the_dropped_ones(tmp_path: Path) -> None:
    result = prepare_text(DUPLICATED, tmp_path, duplicates="keep_last", batch_rows=2)

    rows = part_dicts(result)
    assert [(row["id"], row["emails"]) for row in rows] == [
        ("", "noid@example.com"),
        ("", "noid2@example.com"),
        ("o2", "fifth@example.com"),
        ("o1", "sixth@example.com"),
    ]
    report = result.report
    assert (report.duplicate_ids, report.duplicates_dropped) == (2, 3)
    assert report.rows_read == report.rows_written + report.rows_rejected + report.duplicates_dropped
    assert report.revenue_by_currency == {"RUB": "22"}


def _spill_input() -> list[pa.RecordBatch]:
    """Return 1,000 rows in 10 batches: 700 ids, the first 300 of them repeated once."""
    ids = [f"id{index % 700}" for index in range(1000)]
    return [
        pa.record_batch(
            {
                "id": ids[start : start + 100],
                "create_date_time": ["2024-01-10"] * 100,
                "client_ids": [str(row) for row in range(start, start + 100)],
            }
        )
        for start in range(0, 1000, 100)
    ]


def test_keep_last_over_a_stream_that_spills_ids_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = prepare_simple_orders(
        iter(_spill_input()), tmp_path / "memory", timezone="Europe/Moscow", duplicates="keep_last"
    )
    monkeypatch.setattr(duplicates_module, "MEMORY_BUDGET", 1)
    # What the ledger reads back, one table per bucket file (the code runs unchanged; this only watches).
    read_back: list[tuple[str, pa.Table]] = []
    tables = duplicates_module.IdLedger._tables

    def watched_tables(ledger: duplicates_module.IdLedger) -> Iterator[pa.Table]:
        names = iter(sorted(path.name for path in ledger.spill_dir.glob("ids-*.arrow")))
        for table in tables(ledger):
            read_back.append((next(names, "(memory)"), table))
            yield table

    monkeypatch.setattr(duplicates_module.IdLedger, "_tables", watched_tables)

    result = prepare_simple_orders(
        iter(_spill_input()), tmp_path / "spill", timezone="Europe/Moscow", duplicates="keep_last"
    )

    # The ids went to the 64 bucket files, each id in the bucket its hash names, every row once.
    assert [name for name, _ in read_back] == [f"ids-{index:03d}.arrow" for index in range(64)]
    for index, (_, table) in enumerate(read_back):
        assert set((table.column("hash").to_numpy() >> np.uint64(58)).tolist()) <= {index}
    held = pa.concat_tables([table for _, table in read_back]).sort_by("row")
    assert held.column("row").to_pylist() == list(range(1, 1001))
    assert held.column("id").to_pylist() == [f"id{index % 700}" for index in range(1000)]
    rows = part_dicts(result)
    assert len(rows) == 700
    assert {row["id"]: row["client_ids"] for row in rows}["id5"] == "705"
    assert (result.report.duplicate_ids, result.report.duplicates_dropped) == (300, 300)
    assert rows == part_dicts(in_memory), "spilled or not, the same rows are kept"
    assert [path.name for path in (tmp_path / "spill").iterdir()] == ["part-00001.csv"]  # spill files gone


def test_invalid_rows_do_not_count_as_duplicates(tmp_path: Path) -> None:
    text = "id,create_date_time,emails\no1,10.01.2024,bad\no1,10.01.2024,good@example.com\n"

    result = prepare_text(text, tmp_path, on_invalid="skip", max_invalid_fraction=0.5)

    assert part_dicts(result) == [
        {"id": "o1", "create_date_time": "2024-01-10", "emails": "good@example.com"}
    ]
    assert result.report.duplicate_ids == 0
