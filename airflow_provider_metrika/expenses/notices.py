"""Warnings about rows that are sent but may not work as expected; a warning never refuses a row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from airflow_provider_metrika.expenses.report import MAX_WARNING_ROWS, ExpensesWarning

UNKNOWN_DETAILS = "unknown_details"
DETAILS_WITHOUT_TABLE = "details_without_table"
CAMPAIGN_SPELLINGS = "campaign_spellings"

_TEXTS: dict[str, tuple[str, str]] = {
    UNKNOWN_DETAILS: (
        "TrafficSourceDetail is not in the table of details known here (not Yandex's full list): sent as "
        "given; Metrika ignores a detail it does not know, so these expenses may not join their visits",
        "check the detail against Yandex's table of traffic sources (the value Metrika shows in reports)",
    ),
    DETAILS_WITHOUT_TABLE: (
        "TrafficSourceDetail is given for a TrafficSource without details in Metrika's table "
        "(only organic, ad, social, messenger, recommend and referral have them): sent as given",
        "leave the detail empty for these sources",
    ),
}


def _fold(value: str) -> str:
    return value.strip().lower()


@dataclass
class WarningLog:
    """Row counts and first row numbers of each warning, and the campaigns' spellings, across batches."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    campaigns: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, mask: np.ndarray, first_row: int) -> None:
        """Add one batch's rows of a kind.

        :param kind: the warning kind.
        :param mask: the batch's rows concerned.
        :param first_row: 1-based input row number of the batch's first row.
        """
        count = int(mask.sum())
        if not count:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        rows = self.rows.setdefault(kind, [])
        rows.extend(first_row + int(index) for index in np.flatnonzero(mask)[: MAX_WARNING_ROWS - len(rows)])

    def add_campaigns(self, counts: dict[str, int]) -> None:
        """Count one batch's ``UTMCampaign`` values.

        :param counts: value -> rows.
        """
        self.campaigns.update(counts)

    def _spellings(self) -> ExpensesWarning | None:
        groups: dict[str, list[str]] = {}
        for value in self.campaigns:
            if value:
                groups.setdefault(_fold(value), []).append(value)
        clashes = [sorted(spellings) for spellings in groups.values() if len(spellings) > 1]
        if not clashes:
            return None
        rows = sum(self.campaigns[value] for spellings in clashes for value in spellings)
        shown = "; ".join(
            " vs ".join(repr(value) for value in spellings) for spellings in sorted(clashes)[:5]
        )
        return ExpensesWarning(
            CAMPAIGN_SPELLINGS,
            rows,
            f"UTMCampaign has campaigns spelled in more than one way (case or spaces around): {shown}; "
            "Metrika matches UTM values case-sensitively, so each spelling joins only the visits tagged "
            "exactly so",
            "write each campaign exactly as in its ad links' utm_campaign",
        )

    def warnings(self) -> list[ExpensesWarning]:
        """Return every warning found."""
        found = [
            ExpensesWarning(kind, count, *_TEXTS[kind], tuple(self.rows[kind]))
            for kind, count in self.counts.items()
        ]
        spellings = self._spellings()
        return found if spellings is None else [*found, spellings]
