"""The closing summary table the upload task writes to its log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_metrika.delivery.manifest import PlannedPart
    from airflow_provider_metrika.simple_orders.report import OrdersReport


def upload_summary(
    report: OrdersReport,
    parts: Sequence[PlannedPart],
    uploadings: list[dict[str, Any]],
    *,
    seconds: float,
    counter_id: int,
) -> str:
    """
    Return the closing summary: counts, parts and their uploadings, aligned as plain text.

    :param report: what the orders core counted.
    :param parts: the parts delivered (this try's, or the first try's staged ones).
    :param uploadings: Metrika's uploading object of each part, in part order.
    :param seconds: the task's time from start to the last upload.
    :param counter_id: the counter uploaded to.
    """
    sent_bytes = sum(part.bytes for part in parts)
    lines = [
        f"Metrika upload summary (counter {counter_id})",
        f"  rows read      {report.rows_read:>12,}",
        f"  rows written   {report.rows_written:>12,}",
        f"  rows rejected  {report.rows_rejected:>12,}",
        *(
            [
                f"  new orders     {report.orders_new:>12,}",
                f"  changed        {report.orders_changed:>12,}",
                f"  unchanged      {report.orders_unchanged:>12,}  (skipped)",
            ]
            if report.changed_only
            else []
        ),
        f"  parts          {len(parts):>12,}",
        f"  bytes          {sent_bytes:>12,}",
        f"  time           {seconds:>11.1f}s",
        "",
        f"  {'part':<6}{'orders':>10}{'bytes':>14}  {'uploading_id':<38}status",
    ]
    for part, uploading in zip(parts, uploadings, strict=False):
        uploading_id = uploading.get("uploading_id", "")
        lines.append(
            f"  {part.position:<6}{part.rows or 0:>10,}{part.bytes:>14,}  {uploading_id:<38}"
            f"{uploading.get('api_validation_status', '')}"
        )
    return "\n".join(lines)
