"""Paging rules of the walk back through last_uploadings, on hand-made pages."""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika.hooks.uploadings_search import UploadingsSearch


def _page(*items: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"uploading_id": i, "datetime": d, "api_validation_status": "PASSED"} for i, d in items]


def test_next_page_overlaps_the_oldest_second_so_same_second_uploadings_are_not_skipped() -> None:
    search = UploadingsSearch(["c"], page_size=2)
    assert search.next_params() == {"limit": 2}

    search.feed(_page(("a", "2026-01-01T10:00:05Z"), ("b", "2026-01-01T10:00:03Z")))

    assert search.next_params() == {"limit": 2, "datetime_offset": "2026-01-01T10:00:04Z"}
    search.feed(_page(("b", "2026-01-01T10:00:03Z"), ("c", "2026-01-01T10:00:03Z")))
    assert search.found == {"c": _page(("c", "2026-01-01T10:00:03Z"))[0]}
    assert search.next_params() is None


def test_a_full_page_within_one_second_steps_strictly_past_it_instead_of_looping() -> None:
    search = UploadingsSearch(["z"], page_size=2)
    same_second = _page(("a", "2026-01-01T10:00:05Z"), ("b", "2026-01-01T10:00:05Z"))
    search.feed(same_second)
    search.feed(same_second)

    assert search.next_params() == {"limit": 2, "datetime_offset": "2026-01-01T10:00:05Z"}
    search.feed(same_second)
    assert search.next_params() is None


def test_search_stops_at_not_before_short_pages_and_max_pages() -> None:
    old = UploadingsSearch(["x"], page_size=1, not_before="2026-01-01T10:00:00Z")
    old.feed(_page(("a", "2025-12-31T23:59:59Z")))
    assert old.next_params() is None

    short = UploadingsSearch(["x"], page_size=5)
    short.feed(_page(("a", "2026-01-01T10:00:00Z")))
    assert short.next_params() is None

    bounded = UploadingsSearch(["x"], page_size=1, max_pages=2)
    bounded.feed(_page(("a", "2026-01-01T10:00:09Z")))
    bounded.feed(_page(("b", "2026-01-01T10:00:08Z")))
    assert bounded.next_params() is None
    assert bounded.pages == 2


def test_nothing_to_find_makes_no_request() -> None:
    assert UploadingsSearch([]).next_params() is None
