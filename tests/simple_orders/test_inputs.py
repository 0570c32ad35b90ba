"""Every supported input shape gives the same parts; empty inputs are not errors; arguments are checked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import OrdersInputError, prepare_simple_orders

from .helpers import OFFICIAL_SAMPLE, part_rows, prepare_text


def _frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(OFFICIAL_SAMPLE), dtype=str, keep_default_na=False)


class _OneWayStream(io.RawIOBase):
    """A non-seekable binary stream, like an object-storage download."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_streamed_batches_give_the_same_parts_as_one_dataframe(tmp_path: Path) -> None:
    frame = _frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stream = [table.slice(0, 1).to_batches()[0], frame.iloc[1:2], table.slice(2, 1).to_batches()[0]]

    whole = prepare_simple_orders(frame, tmp_path / "frame", timezone="Europe/Moscow")
    streamed = prepare_simple_orders(iter(stream), tmp_path / "stream", timezone="Europe/Moscow")

    assert part_rows(streamed) == part_rows(whole)
    assert streamed.parts[0].sha256 == whole.parts[0].sha256


@pytest.mark.parametrize("shape", ["table", "record_batch", "csv_stream", "one_way_stream", "csv_path"])
def test_every_input_shape_gives_the_same_part(tmp_path: Path, shape: str) -> None:
    frame = _frame()
    reference = prepare_simple_orders(frame, tmp_path / "reference", timezone="Europe/Moscow")
    path = tmp_path / "orders.csv"
    path.write_text(OFFICIAL_SAMPLE)
    data: Any = {
        "table": lambda: pa.Table.from_pandas(frame, preserve_index=False),
        "record_batch": lambda: pa.RecordBatch.from_pandas(frame, preserve_index=False),
        "csv_stream": lambda: io.BytesIO(OFFICIAL_SAMPLE.encode()),
        "one_way_stream": lambda: io.BufferedReader(_OneWayStream(OFFICIAL_SAMPLE.encode())),
        "csv_path": lambda: path,
    }[shape]()

    result = prepare_simple_orders(data, tmp_path / "out", timezone="Europe/Moscow")

    assert result.parts[0].path.read_bytes() == reference.parts[0].path.read_bytes()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: pd.DataFrame({"create_date_time": [], "emails": []}), id="empty-dataframe"),
        pytest.param(lambda: pd.DataFrame(), id="dataframe-without-columns"),
        pytest.param(lambda: iter([]), id="empty-iterable"),
        pytest.param(lambda: io.BytesIO(OFFICIAL_SAMPLE.splitlines()[0].encode()), id="header-only-csv"),
        pytest.param(
            lambda: io.BytesIO(OFFICIAL_SAMPLE.splitlines()[0].encode() + b"\r\n"), id="header-line-csv"
        ),
    ],
)
def test_input_without_rows_gives_no_parts_and_says_so(tmp_path: Path, data: Any) -> None:
    result = prepare_simple_orders(data(), tmp_path, timezone="Europe/Moscow")

    assert result.parts == []
    assert result.report.rows_read == 0
    assert "no rows" in result.report.as_text()


def test_header_only_csv_with_unknown_columns_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(OrdersInputError, match="unknown columns: note"):
        prepare_text("create_date_time,emails,note\n", tmp_path)


def test_unknown_columns_can_be_dropped_and_are_reported(tmp_path: Path) -> None:
    text = "id,create_date_time,emails,note,mail\no1,10.01.2024,a@b.ru,hello,ignored\n"

    result = prepare_text(text, tmp_path, unknown_columns="drop")

    assert part_rows(result)[0] == ["id", "create_date_time", "emails"]
    assert result.report.dropped_columns == ["note", "mail"]
    assert "dropped columns     note, mail" in result.report.as_text()


def test_renamed_columns_are_written_under_metrika_names_in_documented_order(tmp_path: Path) -> None:
    text = "Сумма,Почта,Дата\n100,a@b.ru,10.01.2024\n"

    result = prepare_text(
        text, tmp_path, columns={"Дата": "create_date_time", "Почта": "emails", "Сумма": "revenue"}
    )

    assert part_rows(result) == [["create_date_time", "emails", "revenue"], ["2024-01-10", "a@b.ru", "100"]]


def test_progress_receives_rows_done_after_each_batch(tmp_path: Path) -> None:
    frame = pd.concat([_frame()] * 3, ignore_index=True)
    frame["id"] = [f"o{index}" for index in range(len(frame))]
    seen: list[int] = []

    prepare_simple_orders(frame, tmp_path, timezone="Europe/Moscow", batch_rows=4, progress=seen.append)

    assert seen == [4, 8, 9]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "timezone 'Mars/Olympus' is not a known IANA time zone"),
        ("on_invalid", "ignore", "on_invalid must be one of 'fail', 'skip', got 'ignore'"),
        ("duplicates", "first", "duplicates must be one of 'error', 'keep_last'"),
        ("unknown_columns", "keep", "unknown_columns must be one of 'error', 'drop'"),
        ("delimiter", ",", "delimiter must be one of 'COMMA', 'SEMICOLON', got ','"),
        ("max_invalid_fraction", 1.5, "max_invalid_fraction must be a number from 0.0 to 1.0"),
        ("max_part_bytes", 2_000_000_000, "max_part_bytes must be an int from 64 to 1000000000"),
        ("batch_rows", 0, "batch_rows must be a positive int"),
        ("hash_identifiers", "yes", "hash_identifiers must be True or False"),
        (
            "columns",
            {"mail": "e-mail"},
            "columns maps 'mail' to 'e-mail'; targets must be one of: id, create_date",
        ),
        ("status_map", {"new": 1}, "status_map must map CRM status strings to Metrika status strings"),
        ("progress", 5, "progress must be a callable"),
    ],
)
def test_bad_argument_is_refused_up_front_naming_the_parameter(
    tmp_path: Path, option: str, value: Any, message: str
) -> None:
    options: dict[str, Any] = {"timezone": "Europe/Moscow", option: value}

    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        prepare_simple_orders(_frame(), tmp_path / "out", **options)

    assert not (tmp_path / "out").exists()


def test_data_of_an_unsupported_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data must be a pandas DataFrame"):
        prepare_simple_orders(42, tmp_path, timezone="Europe/Moscow")


def test_missing_csv_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such CSV file"):
        prepare_simple_orders(tmp_path / "nope.csv", tmp_path / "out", timezone="Europe/Moscow")


def test_report_is_json_serialisable_and_its_counts_add_up(tmp_path: Path) -> None:
    text = OFFICIAL_SAMPLE + "s_ord9,10.01.2024,,,bad-email,,,,,,\n"

    result = prepare_text(text, tmp_path, on_invalid="skip", max_invalid_fraction=0.5)

    report = result.report
    assert report.rows_read == report.rows_written + report.rows_rejected + report.duplicates_dropped == 4
    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["report"]["rows_rejected"] == 1
    assert as_dict["report"]["examples"] == [
        {
            "row": 4,
            "column": "emails",
            "reason": "is not a valid email (must contain @ and a domain)",
            "value": "b***",
        }
    ]
    assert as_dict["report"]["status_counts"] == {"PAID": 1, "PAID (default)": 1, "SPAM": 1}
    assert as_dict["report"]["revenue_by_currency"] == {"EUR": "200", "RUB": "200"}
    assert as_dict["parts"][0]["rows"] == 3


def test_spaces_around_header_names_are_ignored(tmp_path: Path) -> None:
    result = prepare_text("id, create_date_time ,emails\no1,10.01.2024, A@B.ru\n", tmp_path)

    assert part_rows(result) == [["id", "create_date_time", "emails"], ["o1", "2024-01-10", "a@b.ru"]]


def test_csv_file_opened_from_a_path_is_closed_even_when_columns_are_refused(tmp_path: Path) -> None:
    import gc
    import warnings

    path = tmp_path / "orders.csv"
    path.write_text("id,note\no1,x\n")

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(OrdersInputError):
            prepare_simple_orders(path, tmp_path / "out", timezone="Europe/Moscow")
        gc.collect()
