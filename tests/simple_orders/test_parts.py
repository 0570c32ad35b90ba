"""Splitting into parts of at most max_part_bytes, each with the header, on row boundaries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from airflow_provider_metrika.simple_orders import OrdersInputError

from .helpers import OFFICIAL_SAMPLE, part_rows, prepare_text


def _many_orders(count: int) -> str:
    header = OFFICIAL_SAMPLE.splitlines()[0]
    rows = [
        f'a{index},10.01.2024 11:56,u{index},,"m{index}@example.com,n{index}@example.com",,PAID,200,150,'
        f'"oplata_cash:200,filial_1",'
        if index % 2
        else f"b{index},20.01.2024,,{index},,,,{index},,,EUR"
        for index in range(count)
    ]
    return "\n".join([header, *rows]) + "\n"


def test_small_limit_gives_several_parts_each_within_limit_with_header(tmp_path: Path) -> None:
    text = _many_orders(60)
    whole = prepare_text(text, tmp_path / "whole")
    split = prepare_text(text, tmp_path / "split", max_part_bytes=700, batch_rows=7)

    assert len(whole.parts) == 1
    assert len(split.parts) > 3
    header = whole.parts[0].path.read_bytes().splitlines(keepends=True)[0]
    for part in split.parts:
        content = part.path.read_bytes()
        assert part.bytes == len(content) <= 700
        assert content.startswith(header)
        assert part.sha256 == hashlib.sha256(content).hexdigest()
        assert part.rows == content.count(b"\n") - 1
    assert part_rows(split) == part_rows(whole)
    assert sum(part.rows for part in split.parts) == whole.report.rows_written
    assert [part.path.name for part in split.parts][:2] == ["part-00001.csv", "part-00002.csv"]


def test_parts_count_rows_without_id(tmp_path: Path) -> None:
    result = prepare_text(OFFICIAL_SAMPLE, tmp_path, max_part_bytes=250)

    assert [part.rows for part in result.parts] == [1, 2]
    assert [part.rows_without_id for part in result.parts] == [0, 1]


def test_row_longer_than_a_part_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    long_id = "x" * 300
    text = OFFICIAL_SAMPLE.replace("s_ord2", long_id)

    with pytest.raises(
        OrdersInputError, match=r"row 2 takes \d+ bytes, more than fits in a part of max_part_bytes=250"
    ):
        prepare_text(text, tmp_path, max_part_bytes=250)

    assert list(tmp_path.iterdir()) == []


def test_output_directory_with_parts_of_an_earlier_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "part-00001.csv").write_text("old")

    with pytest.raises(ValueError, match=r"already holds part-00001\.csv"):
        prepare_text(OFFICIAL_SAMPLE, tmp_path)
