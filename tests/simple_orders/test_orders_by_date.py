"""The report counts the orders written per creation date and status, for the linkage check."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_metrika.simple_orders.sync_state import Destination, SyncState, read_sent
from tests.simple_orders.helpers import OFFICIAL_SAMPLE, prepare_text

HERE = Destination("api-metrika.yandex.net", 12345)


def test_orders_are_counted_per_creation_date_and_status_in_the_counters_zone(tmp_path: Path) -> None:
    text = (
        "id,create_date_time,emails,order_status\n"
        "a,2024-01-09 23:30:00+00:00,a@example.com,PAID\n"  # 02:30 on the 10th in Moscow
        "b,2024-01-09 10:00,b@example.com,\n"
        "c,09.01.2024,c@example.com,SPAM\n"
        "d,2024-01-10 08:00,d@example.com,dostavka\n"
    )

    report = prepare_text(text, tmp_path).report

    assert report.orders_by_date == {
        "2024-01-09": {"PAID (default)": 1, "SPAM": 1},
        "2024-01-10": {"PAID": 1, "dostavka": 1},
    }
    assert report.orders_held_by_date == report.orders_by_date
    assert report.orders_without_id_by_date == {}
    assert set(report.to_dict()) >= {"orders_by_date", "orders_held_by_date", "orders_without_id_by_date"}


def test_each_row_without_id_is_one_order_and_is_counted_apart_too(tmp_path: Path) -> None:
    report = prepare_text(OFFICIAL_SAMPLE, tmp_path).report

    assert report.orders_by_date == {
        "2024-01-10": {"PAID": 1},
        "2024-01-20": {"PAID (default)": 1},
        "2024-02-12": {"SPAM": 1},
    }
    assert report.orders_without_id_by_date == {"2024-02-12": 1}


def test_a_repeated_id_kept_last_counts_once_with_its_last_status(tmp_path: Path) -> None:
    text = (
        "id,create_date_time,emails,order_status\n"
        "a,2024-01-09 10:00,a@example.com,IN_PROGRESS\n"
        "b,2024-01-09 11:00,b@example.com,PAID\n"
        "a,2024-01-09 10:00,a@example.com,CANCELLED\n"
    )

    report = prepare_text(text, tmp_path, duplicates="keep_last").report

    assert report.orders_by_date == {"2024-01-09": {"PAID": 1, "CANCELLED": 1}}


def test_rejected_rows_are_not_counted(tmp_path: Path) -> None:
    text = "id,create_date_time,emails\na,2024-01-09 10:00,a@example.com\nb,not a date,b@example.com\n"

    report = prepare_text(text, tmp_path, on_invalid="skip", max_invalid_fraction=0.5).report

    assert report.orders_by_date == {"2024-01-09": {"PAID (default)": 1}}


def test_with_a_sync_state_the_held_counts_add_the_unchanged_orders(tmp_path: Path) -> None:
    first_text = "id,create_date_time,emails\n" + "".join(
        f"o{n},2024-01-09 10:00,o{n}@example.com\n" for n in range(4)
    )
    first = prepare_text(first_text, tmp_path / "1", sync_state=SyncState.empty(HERE))
    sent = first.sent_orders
    assert sent is not None
    state_file = tmp_path / "state"
    with state_file.open("wb") as out:
        SyncState.empty(HERE).apply(lambda: read_sent(sent)).write(out, first.report.columns)
    second_text = first_text.replace("o3@example.com", "new@example.com") + "o4,2024-01-10,o4@example.com\n"

    report = prepare_text(
        second_text, tmp_path / "2", sync_state=SyncState.read(state_file, HERE, "s")
    ).report

    assert (report.orders_changed, report.orders_new, report.orders_unchanged) == (1, 1, 3)
    assert report.orders_by_date == {"2024-01-09": {"PAID (default)": 1}, "2024-01-10": {"PAID (default)": 1}}
    assert report.orders_held_by_date == {
        "2024-01-09": {"PAID (default)": 4},
        "2024-01-10": {"PAID (default)": 1},
    }


def test_counting_holds_one_counter_per_date_and_status_not_per_row(tmp_path: Path) -> None:
    rows = "".join(
        f"o{n},2024-01-{1 + n % 3:02d} 10:00,o{n}@example.com,{'PAID' if n % 2 else 'SPAM'}\n"
        for n in range(3000)
    )

    report = prepare_text("id,create_date_time,emails,order_status\n" + rows, tmp_path, batch_rows=500).report

    assert sum(len(statuses) for statuses in report.orders_by_date.values()) == 6
    assert sum(sum(statuses.values()) for statuses in report.orders_by_date.values()) == 3000
