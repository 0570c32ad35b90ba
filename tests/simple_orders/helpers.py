"""Helpers shared by the orders core tests: run the core on CSV text and read its parts back."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from airflow_provider_metrika.simple_orders import PreparedOrders, prepare_simple_orders

TIMEZONE = "Europe/Moscow"

#: The official sample file from Metrika's documentation, byte for byte.
OFFICIAL_SAMPLE = (
    "id,create_date_time,client_uniq_id,client_ids,emails,phones,order_status,revenue,cost,goals,currency\n"
    's_ord1,10.01.2024 11:56,s_user1,,"mail@example.com,mail2@example.com",,PAID,200,150,'
    '"oplata_cash:200,filial_1",\n'
    "s_ord2,20.01.2024 11:59,,12345,mail3@example.com,,,200,150,,EUR\n"
    ",12.02.2024,,34456,,79876543210,SPAM,,,plohoy_lead,\n"
)


def prepare_text(text: str | bytes, output_dir: Path, **options: Any) -> PreparedOrders:
    """Run the core on CSV given as text (UTF-8 encoded) or bytes.

    :param text: the CSV.
    :param output_dir: where parts go.
    :param options: keyword options of prepare_simple_orders; timezone defaults to Moscow.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    options.setdefault("timezone", TIMEZONE)
    return prepare_simple_orders(io.BytesIO(data), output_dir, **options)


def part_rows(result: PreparedOrders, delimiter: str = ",") -> list[list[str]]:
    """Return the header and data rows of all parts, the header once.

    :param result: the preparation result.
    :param delimiter: the parts' delimiter.
    """
    rows: list[list[str]] = []
    for index, part in enumerate(result.parts):
        with open(part.path, newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle, delimiter=delimiter))
        rows.extend(records if index == 0 else records[1:])
    return rows


def part_dicts(result: PreparedOrders, delimiter: str = ",") -> list[dict[str, str]]:
    """Return the data rows of all parts as dicts keyed by column.

    :param result: the preparation result.
    :param delimiter: the parts' delimiter.
    """
    header, *rows = part_rows(result, delimiter)
    return [dict(zip(header, row, strict=True)) for row in rows]


def one_column_csv(column: str, values: list[str], identifier: bool = True) -> str:
    """Return CSV with ``id``, ``create_date_time``, an identifier and one column under test.

    :param column: the column under test.
    :param values: one value per row (written as given: quote them yourself if needed).
    :param identifier: add an ``emails`` column so rows are identified.
    """
    base = {"id": "", "create_date_time": "10.01.2024 11:56", "emails": "mail@example.com"}
    if not identifier:
        base.pop("emails")
    columns = [name for name in base if name != column] + [column]
    lines = [",".join(columns)]
    for index, value in enumerate(values, start=1):
        cells = {**base, "id": f"o{index}", column: value}
        lines.append(",".join(cells[name] for name in columns))
    return "\n".join(lines) + "\n"
