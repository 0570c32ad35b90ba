"""Columns read as Metrika reads headers, renames, unknown columns, and the one identifier type sent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airflow_provider_metrika.offline_conversions import (
    CLIENT_ID_TYPES,
    ConversionsInputError,
    EmptyConversionsError,
)
from tests.offline_conversions.helpers import TEN_DAYS_AGO, calls, conversions, csv_bytes, frame, part_dicts


def test_headers_are_read_case_insensitively_without_punctuation_and_written_in_metrikas_spelling(
    tmp_path: Path,
) -> None:
    data = pd.DataFrame({"client_id": ["123"], " TARGET ": ["paid"], "date-time": [str(TEN_DAYS_AGO)]})

    result = conversions(data, tmp_path)

    assert result.report.columns == ["ClientId", "Target", "DateTime"]
    assert part_dicts(result) == [{"ClientId": "123", "Target": "paid", "DateTime": str(TEN_DAYS_AGO)}]


def test_the_parts_list_the_identifier_first_then_metrikas_order_whatever_the_input_order(
    tmp_path: Path,
) -> None:
    data = csv_bytes(f"Currency,Price,DateTime,Target,Yclid\nEUR,10,{TEN_DAYS_AGO},paid,42\n")

    result = conversions(data, tmp_path)

    assert result.parts[0].path.read_text().splitlines()[0] == "Yclid,Target,DateTime,Price,Currency"


def test_columns_renames_any_input_column_to_a_metrika_column_in_any_case(tmp_path: Path) -> None:
    data = pd.DataFrame({"cid": ["7"], "goal": ["paid"], "ts": [str(TEN_DAYS_AGO)]})

    result = conversions(data, tmp_path, columns={"cid": "clientid", "goal": "Target", "ts": "DATETIME"})

    assert part_dicts(result) == [{"ClientId": "7", "Target": "paid", "DateTime": str(TEN_DAYS_AGO)}]


def test_unknown_columns_are_refused_with_close_names_and_the_other_files_columns_named(
    tmp_path: Path,
) -> None:
    data = frame(ClientIdd=["1"], revenue=["5"], PhoneNumber=["+70123456789"], notes=["x"])

    with pytest.raises(ConversionsInputError) as caught:
        conversions(data, tmp_path)

    message = str(caught.value)
    assert "unknown columns: ClientIdd, revenue, PhoneNumber, notes" in message
    assert "'ClientIdd' -> did you mean ClientId? pass columns={'ClientIdd': 'ClientId'}" in message
    assert "'revenue' -> did you mean Price?" in message
    assert "'PhoneNumber' is a column of calls, not of conversions" in message
    assert "'notes': no Metrika column" in message
    assert list(tmp_path.iterdir()) == []


def test_target_is_no_calls_column(tmp_path: Path) -> None:
    data = pd.DataFrame({"ClientId": ["1"], "Target": ["paid"], "DateTime": [str(TEN_DAYS_AGO)]})

    with pytest.raises(ConversionsInputError, match="'Target' is a column of conversions, not of calls"):
        calls(data, tmp_path)


@pytest.mark.parametrize("missing", ["Target", "DateTime"])
def test_a_missing_required_column_is_refused_with_the_rename_hint(tmp_path: Path, missing: str) -> None:
    data = frame(ClientId=["1"]).drop(columns=[missing])

    with pytest.raises(ConversionsInputError, match=f"required column {missing} is missing.*columns="):
        conversions(data, tmp_path)


def test_two_spellings_of_one_column_are_refused(tmp_path: Path) -> None:
    data = frame(ClientId=["1"], client_id=["2"])

    with pytest.raises(ConversionsInputError, match="'ClientId' and 'client_id' both mean 'ClientId'"):
        conversions(data, tmp_path)


def test_a_rename_of_a_column_the_input_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionsInputError, match="renames cid, but the input has no such column"):
        conversions(frame(ClientId=["1"]), tmp_path, columns={"cid": "ClientId"})


def test_a_rename_to_no_metrika_column_is_an_argument_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="targets must be one of: ClientId, UserId"):
        conversions(frame(ClientId=["1"]), tmp_path, columns={"ClientId": "client_ids"})


def test_the_identifier_type_is_inferred_from_the_one_identifier_column(tmp_path: Path) -> None:
    for kind, column in CLIENT_ID_TYPES.items():
        result = conversions(frame(**{column: ["12"]}), tmp_path / kind)
        assert result.report.client_id_type == kind
        assert result.report.columns[0] == column


def test_several_identifier_columns_without_client_id_type_are_refused_naming_them_and_the_argument(
    tmp_path: Path,
) -> None:
    data = frame(ClientId=["1"], UserId=["u"], Yclid=["2"])

    with pytest.raises(ConversionsInputError) as caught:
        conversions(data, tmp_path)

    message = str(caught.value)
    assert "several identifier columns (ClientId, UserId, Yclid)" in message
    assert "client_id_type='CLIENT_ID' or 'USER_ID' or 'YCLID'" in message
    assert list(tmp_path.iterdir()) == []


def test_a_chosen_identifier_sends_only_its_column_and_warns_about_the_others(tmp_path: Path) -> None:
    data = frame(ClientId=["1", "2"], UserId=["u1", "u2"])

    result = conversions(data, tmp_path, client_id_type="USER_ID")

    assert result.report.columns == ["UserId", "Target", "DateTime"]
    assert [row["UserId"] for row in part_dicts(result)] == ["u1", "u2"]
    (warning,) = result.report.warnings
    assert warning.kind == "unused_identifiers"
    assert warning.count == 2
    assert "ClientId column is not sent" in warning.describe()


def test_a_chosen_identifier_the_input_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConversionsInputError, match="client_id_type='YCLID' sends the Yclid column"):
        conversions(frame(ClientId=["1"]), tmp_path, client_id_type="YCLID")


def test_no_identifier_column_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConversionsInputError, match=r"no identifier column.*ClientId \(CLIENT_ID\)"):
        conversions(pd.DataFrame({"Target": ["x"], "DateTime": [str(TEN_DAYS_AGO)]}), tmp_path)


def test_calls_take_no_purchase_id(tmp_path: Path) -> None:
    data = pd.DataFrame({"ClientId": ["1"], "DateTime": [str(TEN_DAYS_AGO)]})

    with pytest.raises(ValueError, match="client_id_type must be one of 'CLIENT_ID', 'USER_ID', 'YCLID'"):
        calls(data, tmp_path, client_id_type="PURCHASE_ID")
    with pytest.raises(ConversionsInputError, match="'PurchaseId' is a column of conversions"):
        calls(data.assign(PurchaseId=["p"]), tmp_path)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(pd.DataFrame({"ClientId": [], "Target": [], "DateTime": []}), id="no rows"),
        pytest.param(csv_bytes("ClientId,Target,DateTime\n"), id="header only"),
        pytest.param(csv_bytes(""), id="empty file"),
        pytest.param(iter(()), id="no batches"),
    ],
)
def test_an_input_without_rows_is_refused_as_empty(tmp_path: Path, data: object) -> None:
    with pytest.raises(EmptyConversionsError, match=r"no rows|empty"):
        conversions(data, tmp_path)

    assert list(tmp_path.glob("part-*")) == []


def test_a_float_identifier_column_is_refused_as_a_whole_with_the_fix(tmp_path: Path) -> None:
    data = frame(ClientId=[1704873600123456789.0, 2.0])

    with pytest.raises(ConversionsInputError) as caught:
        conversions(data, tmp_path)

    message = str(caught.value)
    assert "ClientId (input column 'ClientId') holds floating-point numbers" in message
    assert "dtype={'ClientId': str}" in message
    assert "Int64" in message
    assert list(tmp_path.glob("part-*")) == []


def test_integer_identifier_columns_are_written_exactly(tmp_path: Path) -> None:
    data = frame(ClientId=pd.Series([18446744073709551615, 1], dtype="uint64"))

    result = conversions(data, tmp_path)

    assert [row["ClientId"] for row in part_dicts(result)] == ["18446744073709551615", "1"]
