"""The closing summary table the upload task writes to its log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_metrika.delivery.engine import UploadEndpoint
    from airflow_provider_metrika.delivery.manifest import PlannedPart


def upload_summary(
    counts: Sequence[tuple[str, int, str]],
    parts: Sequence[PlannedPart],
    uploadings: list[dict[str, Any]],
    endpoint: UploadEndpoint,
    *,
    seconds: float,
    counter_id: int,
) -> str:
    """
    Return the closing summary: counts, parts and their uploadings, aligned as plain text.

    :param counts: the kind's count lines: label, number, note (e.g. ``("unchanged", 3, "(skipped)")``).
    :param parts: the parts delivered (this try's, or the first try's staged ones).
    :param uploadings: Metrika's uploading object of each part, in part order.
    :param endpoint: the kind's endpoint, which reads an upload's id and status.
    :param seconds: the task's time from start to the last upload.
    :param counter_id: the counter uploaded to.
    """
    sent_bytes = sum(part.bytes for part in parts)
    rows_label = endpoint.row_noun
    lines = [
        f"Metrika upload summary (counter {counter_id})",
        *(f"  {label:<15}{number:>12,}{'  ' + note if note else ''}" for label, number, note in counts),
        f"  {'parts':<15}{len(parts):>12,}",
        f"  {'bytes':<15}{sent_bytes:>12,}",
        f"  {'time':<15}{seconds:>11.1f}s",
        "",
        f"  {'part':<6}{rows_label:>10}{'bytes':>14}  {'uploading_id':<38}status",
    ]
    for part, uploading in zip(parts, uploadings, strict=False):
        lines.append(
            f"  {part.position:<6}{part.rows or 0:>10,}{part.bytes:>14,}  "
            f"{endpoint.uploading_id(uploading):<38}{endpoint.status(uploading)}"
        )
    return "\n".join(lines)
