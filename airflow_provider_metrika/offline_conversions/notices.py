"""Warnings about rows that are sent but will not work as expected, or were tidied before sending.

A warning never refuses a row: it counts the rows, names the first few by number (never by value) and
says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from airflow_provider_metrika.offline_conversions.columns import LINK_WINDOW_DAYS
from airflow_provider_metrika.offline_conversions.report import MAX_WARNING_ROWS, ConversionsWarning

OLD_ROWS = "old_rows"
TRIMMED_VALUES = "trimmed_values"
NORMALISED_PHONES = "normalised_phones"
STATIC_CALLS = "static_calls"
UNUSED_IDENTIFIERS = "unused_identifiers"

_TEXTS: dict[str, tuple[str, str]] = {
    OLD_ROWS: (
        f"DateTime is more than {LINK_WINDOW_DAYS} days before the upload: Metrika links a conversion only "
        f"to visits within {LINK_WINDOW_DAYS} days of processing the file, so these will not link",
        "upload within a few days of the event (schedule the upload daily); nothing to change if expected",
    ),
    TRIMMED_VALUES: (
        "values had spaces or line breaks around them, removed before sending (Metrika trims them too)",
        "trim them at the source to silence this",
    ),
    NORMALISED_PHONES: (
        "PhoneNumber had spaces, dashes, dots or brackets, removed before sending (Metrika takes + and "
        "digits only)",
        "write numbers as +70123456789 at the source to silence this",
    ),
    STATIC_CALLS: (
        "calls are static (StaticCall=1): Metrika never links them to visits; they count in call reports, "
        "and a file of static calls only ends in LINKAGE_FAILURE",
        "nothing, if these numbers are static on purpose",
    ),
}


@dataclass
class WarningLog:
    """Row counts and first row numbers of each warning, across batches."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    details: dict[str, set[str]] = field(default_factory=dict)

    def record(self, kind: str, mask: np.ndarray, first_row: int, detail: str | None = None) -> None:
        """Add one batch's rows of a kind.

        :param kind: the warning kind.
        :param mask: the batch's rows concerned.
        :param first_row: 1-based input row number of the batch's first row.
        :param detail: a column name to list in the message (e.g. the columns trimmed).
        """
        count = int(mask.sum())
        if not count:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        rows = self.rows.setdefault(kind, [])
        rows.extend(first_row + int(index) for index in np.flatnonzero(mask)[: MAX_WARNING_ROWS - len(rows)])
        if detail is not None:
            self.details.setdefault(kind, set()).add(detail)

    def warnings(self, unused: tuple[str, ...], sent: str, rows: int) -> list[ConversionsWarning]:
        """Return every warning found, the identifier columns left out first.

        :param unused: identifier columns in the input that were not sent.
        :param sent: the identifier column sent.
        :param rows: rows written.
        """
        found = []
        if unused and rows:
            found.append(
                ConversionsWarning(
                    UNUSED_IDENTIFIERS,
                    rows,
                    f"the input's {', '.join(unused)} {'column is' if len(unused) == 1 else 'columns are'} "
                    f"not sent: one identifier type per upload, and client_id_type chose {sent}",
                    "upload the other identifiers in a separate run with their client_id_type, if wanted",
                )
            )
        for kind, count in self.counts.items():
            message, fix = _TEXTS[kind]
            if kind in self.details:
                message += f" (columns: {', '.join(sorted(self.details[kind]))})"
            found.append(ConversionsWarning(kind, count, message, fix, tuple(self.rows[kind])))
        return found
