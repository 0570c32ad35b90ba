"""Goal prices follow the file's decimal separator; a price that reads two ways is refused, never guessed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from airflow_provider_metrika.simple_orders import InvalidOrdersError, prepare_simple_orders
from airflow_provider_metrika.simple_orders.goals import REASON_AMBIGUOUS_COMMA, REASON_AMBIGUOUS_DOT

from .helpers import TIMEZONE, part_dicts, prepare_text

HEADER = "id;create_date_time;emails;revenue;goals\n"


def _semicolon(goals: str, revenue: str = "4590,50") -> str:
    return f"{HEADER}o1;10.01.2024;mail@example.com;{revenue};{goals}\n"


def _refusal(text: str, tmp_path: Path, **options: object) -> tuple[int, str, str]:
    with pytest.raises(InvalidOrdersError) as caught:
        prepare_text(text, tmp_path, **options)
    problem = caught.value.report.examples[0]
    return problem.row, problem.column, problem.reason


def test_a_decimal_comma_price_in_a_semicolon_file_is_refused_as_ambiguous_not_split(tmp_path: Path) -> None:
    row, column, reason = _refusal(_semicolon("oplata:4590,50"), tmp_path)

    assert (row, column, reason) == (1, "goals", REASON_AMBIGUOUS_COMMA)
    assert "oplata:4590.50" in reason  # the fix
    assert "oplata:4590, 50" in reason


def test_with_decimal_comma_a_quoted_comma_price_is_refused_too(tmp_path: Path) -> None:
    text = (
        "id,create_date_time,emails,revenue,goals\n"
        'o1,10.01.2024,mail@example.com,"4590,50","oplata:4590,50"\n'
    )

    assert _refusal(text, tmp_path, decimal=",") == (1, "goals", REASON_AMBIGUOUS_COMMA)


@pytest.mark.parametrize(
    ("cell", "sent"),
    [
        ("oplata:4590.50", "oplata:4590.5"),
        ("oplata:4590, 50", "oplata:4590,50"),  # a space after the comma: 50 is a goal
        ("oplata:4590,50:10", "oplata:4590,50:10"),  # 50 has a price of its own: a goal
        ("oplata:4590,filial_1", "oplata:4590,filial_1"),
        ("oplata:1.2345", "oplata:1.2345"),
        ("filial_1,oplata:100", "filial_1,oplata:100"),
    ],
)
def test_unambiguous_goals_in_a_semicolon_file_are_sent_with_a_dot(
    tmp_path: Path, cell: str, sent: str
) -> None:
    result = prepare_text(_semicolon(cell), tmp_path)

    assert part_dicts(result)[0]["goals"] == sent
    assert part_dicts(result)[0]["revenue"] == "4590.5"


def test_a_dot_and_three_digits_in_a_decimal_comma_file_is_refused_as_for_revenue(tmp_path: Path) -> None:
    assert _refusal(_semicolon("oplata:1.234", revenue="10"), tmp_path) == (1, "goals", REASON_AMBIGUOUS_DOT)
    assert _refusal(_semicolon("oplata:1.234", revenue="10"), tmp_path / "c", decimal=",")[2] == (
        REASON_AMBIGUOUS_DOT
    )


def test_the_decimal_point_option_keeps_the_comma_as_the_list_separator(tmp_path: Path) -> None:
    result = prepare_text(_semicolon("oplata:4590,50", revenue="10"), tmp_path, decimal=".")

    assert part_dicts(result)[0]["goals"] == "oplata:4590,50"
    assert result.report.goal_counts == {"oplata": 1, "50": 1}


def test_a_comma_dot_file_reads_goal_prices_as_before(tmp_path: Path) -> None:
    text = 'id,create_date_time,emails,goals\no1,10.01.2024,mail@example.com,"oplata:1.234,filial_1"\n'

    assert part_dicts(prepare_text(text, tmp_path))[0]["goals"] == "oplata:1.234,filial_1"


def test_list_cells_read_a_decimal_comma_price_as_one_goal(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["o1", "o2"],
            "create_date_time": ["2024-01-10", "2024-01-10"],
            "emails": ["mail@example.com", "other@example.com"],
            "revenue": ["4590,50", "10"],
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(
        "goals", pa.array([["oplata:4590,50", "filial_1"], ["dostavka:0,5"]])
    )

    result = prepare_simple_orders(table, tmp_path, timezone=TIMEZONE, decimal=",")

    assert [row["goals"] for row in part_dicts(result)] == ["oplata:4590.5,filial_1", "dostavka:0.5"]
    assert [row["revenue"] for row in part_dicts(result)] == ["4590.5", "10"]


def test_refused_goal_values_are_shown_in_the_message_and_rows_are_kept_apart(tmp_path: Path) -> None:
    text = (
        HEADER
        + "o1;10.01.2024;mail@example.com;10;oplata:4590,50\n"
        + "o2;10.01.2024;other@example.com;10;oplata:4590.50\n"
    )

    result = prepare_text(text, tmp_path, on_invalid="skip", max_invalid_fraction=0.5)

    assert [row["id"] for row in part_dicts(result)] == ["o2"]
    assert result.report.rejected_by_reason == {f"goals: {REASON_AMBIGUOUS_COMMA}": 1}
    assert result.report.examples[0].value == "oplata:4590,50"
