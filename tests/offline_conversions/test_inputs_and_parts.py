"""Every input kind, streaming across batches, part splitting, and nothing left behind on failure."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.offline_conversions import (
    ConversionsInputError,
    InvalidConversionsError,
)
from tests.offline_conversions.helpers import TEN_DAYS_AGO, conversions, csv_bytes, frame, part_dicts

EXPECTED = [
    {"ClientId": "11", "Target": "paid", "DateTime": str(TEN_DAYS_AGO), "Price": "10.5"},
    {"ClientId": "22", "Target": "call", "DateTime": str(TEN_DAYS_AGO + 60), "Price": ""},
]


def test_a_dataframe(tmp_path: Path) -> None:
    data = frame(
        ClientId=["11", "22"],
        Target=["paid", "call"],
        DateTime=[TEN_DAYS_AGO, TEN_DAYS_AGO + 60],
        Price=[10.5, None],
    )

    assert part_dicts(conversions(data, tmp_path)) == EXPECTED


def test_an_arrow_table(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ClientId": pa.array([11, 22], pa.uint64()),
            "Target": ["paid", "call"],
            "DateTime": pa.array([TEN_DAYS_AGO, TEN_DAYS_AGO + 60], pa.timestamp("s", tz="UTC")),
            "Price": pa.array(["10.50", None]),
        }
    )

    assert part_dicts(conversions(table, tmp_path)) == EXPECTED


def test_a_semicolon_csv_stream_with_decimal_commas(tmp_path: Path) -> None:
    data = csv_bytes(
        "\ufeffclient_id;target;date_time;price\n"
        "11;paid;2024-01-10 11:00;10,5\n22;call;2024-01-10T08:01:00Z;\n"
    )

    assert part_dicts(conversions(data, tmp_path)) == EXPECTED


def sql_batches() -> Iterator[pd.DataFrame]:
    yield frame(ClientId=["11"], Target=["paid"], DateTime=[TEN_DAYS_AGO], Price=["10.5"])
    yield frame(ClientId=["22"], Target=["call"], DateTime=[TEN_DAYS_AGO + 60], Price=[None])


def test_an_iterator_of_sql_batches(tmp_path: Path) -> None:
    seen: list[int] = []

    result = conversions(sql_batches(), tmp_path, progress=seen.append)

    assert part_dicts(result) == EXPECTED
    assert seen == [1, 2]


def test_row_numbers_count_across_batches_and_every_problem_is_counted(tmp_path: Path) -> None:
    def batches() -> Iterator[pd.DataFrame]:
        yield frame(ClientId=["1", "2", "3"])
        yield frame(ClientId=["4", "x5", "6"])
        yield frame(ClientId=["7", "8", "x9"])

    with pytest.raises(InvalidConversionsError) as caught:
        conversions(batches(), tmp_path)

    error = caught.value
    assert [problem.row for problem in error.problems] == [5, 9]
    assert (error.report.rows_read, error.report.rows_rejected) == (9, 2)
    assert error.report.rows_written == 0
    assert "2 of 9 rows are invalid" in str(error)
    assert list(tmp_path.glob("part-*")) == []


def test_a_refusal_after_parts_were_written_leaves_none_behind(tmp_path: Path) -> None:
    def batches() -> Iterator[pd.DataFrame]:
        for start in range(0, 3000, 1000):
            yield frame(ClientId=[str(n) for n in range(start, start + 1000)])
        yield frame(ClientId=["bad"])

    with pytest.raises(InvalidConversionsError):
        conversions(batches(), tmp_path, max_part_bytes=4096)

    assert list(tmp_path.iterdir()) == []


def test_an_input_error_in_a_later_batch_leaves_no_part(tmp_path: Path) -> None:
    def batches() -> Iterator[pd.DataFrame]:
        yield frame(ClientId=["1"])
        yield frame(ClientId=[2.0])

    with pytest.raises(ConversionsInputError, match="floating-point"):
        conversions(batches(), tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_parts_split_at_max_part_bytes_each_with_the_header_and_an_honest_digest(tmp_path: Path) -> None:
    data = frame(ClientId=[str(10**15 + n) for n in range(500)])

    whole = conversions(data, tmp_path / "whole")
    split = conversions(data, tmp_path / "split", max_part_bytes=1000)

    assert len(whole.parts) == 1
    assert len(split.parts) > 10
    assert part_dicts(split) == part_dicts(whole)
    assert sum(part.rows for part in split.parts) == 500 == split.report.rows_written
    for part in split.parts:
        content = part.path.read_bytes()
        assert len(content) == part.bytes <= 1000
        assert hashlib.sha256(content).hexdigest() == part.sha256
        assert content.startswith(b"ClientId,Target,DateTime\n")
        assert part.rows == content.count(b"\n") - 1
        assert part.rows_without_id == 0


def test_values_holding_commas_or_quotes_are_quoted(tmp_path: Path) -> None:
    result = conversions(frame(UserId=['a,"b"'], Target=["x;y"]), tmp_path)

    assert result.parts[0].path.read_text().splitlines()[1].startswith('"a,""b""","x;y",')
    assert part_dicts(result)[0]["UserId"] == 'a,"b"'


def test_invalid_utf8_in_a_csv_is_refused_per_row(tmp_path: Path) -> None:
    data = csv_bytes("UserId,Target,DateTime\n")
    data = type(data)(data.getvalue() + b"u\xff,paid,1704873600\n")

    with pytest.raises(InvalidConversionsError) as caught:
        conversions(data, tmp_path)

    assert (caught.value.problems[0].row, caught.value.problems[0].reason) == (1, "is not valid UTF-8 text")


def test_a_ragged_csv_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ConversionsInputError, match="has 2 fields where the header has 3"):
        conversions(csv_bytes("ClientId,Target,DateTime\n1,paid\n"), tmp_path)


def test_a_workdir_holding_parts_of_an_earlier_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "part-00001.csv").write_text("old")

    with pytest.raises(ValueError, match=r"already holds part-00001\.csv"):
        conversions(frame(ClientId=["1"]), tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"now": dt.datetime(2024, 1, 20)}, "now must be a timezone-aware datetime"),
        ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"source_timezone": "nowhere"}, "not a known IANA time zone"),
        ({"max_part_bytes": 10}, "max_part_bytes must be an int"),
        ({"decimal": ";"}, "decimal must be"),
        ({"client_id_type": "client_id"}, "client_id_type must be one of"),
        ({"progress": 3}, "progress must be a callable"),
    ],
)
def test_bad_arguments_are_refused_before_reading(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        conversions(frame(ClientId=["1"]), tmp_path, **options)


def test_the_report_is_json_and_reads_as_a_log_block(tmp_path: Path) -> None:
    data = frame(ClientId=[" 1", "2"], Target=["paid", "lead"], Price=["5", "7"], Currency=["RUB", "EUR"])

    result = conversions(data, tmp_path)

    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["report"]["rows_written"] == 2
    assert as_dict["report"]["targets"] == {"paid": 1, "lead": 1}
    assert as_dict["report"]["warnings"][0]["kind"] == "trimmed_values"
    assert as_dict["parts"][0]["rows"] == 2
    text = result.report.as_text()
    assert "rows written        2" in text
    assert "targets             paid 1, lead 1" in text
    assert "values had spaces" in text
