"""The closing summary table the upload task writes to its log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_metrika.simple_orders import PreparedOrders


def upload_summary(
    prepared: PreparedOrders, uploadings: list[dict[str, Any]], *, seconds: float, counter_id: int
) -> str:
    """
    Return the closing summary: counts, parts and their uploadings, aligned as plain text.

    :param prepared: what the orders core prepared.
    :param uploadings: Metrika's uploading object of each part, in part order.
    :param seconds: the task's time from start to the last upload.
    :param counter_id: the counter uploaded to.
    """
    report = prepared.report
    sent_bytes = sum(part.bytes for part in prepared.parts)
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
        f"  parts          {len(prepared.parts):>12,}",
        f"  bytes          {sent_bytes:>12,}",
        f"  time           {seconds:>11.1f}s",
        "",
        f"  {'part':<6}{'orders':>10}{'bytes':>14}  {'uploading_id':<38}status",
    ]
    for number, (part, uploading) in enumerate(zip(prepared.parts, uploadings, strict=False), start=1):
        lines.append(
            f"  {number:<6}{part.rows:>10,}{part.bytes:>14,}  {uploading.get('uploading_id', ''):<38}"
            f"{uploading.get('api_validation_status', '')}"
        )
    return "\n".join(lines)
