"""Did the expenses land? The days' totals read back through the Reports API, against what was sent."""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika.exceptions import MetrikaAccessDeniedError, MetrikaUploadingFailedError

#: A day's total may differ from what was sent by this much (Metrika rounds each row to kopecks).
TOLERANCE = 0.01


def check_expense_totals(hook: Any, counter: int, report: dict[str, Any], check: str, log: Any) -> None:
    """
    Compare each day's expense total in Metrika with what this run sent; log a table per day.

    Metrika's total of a day holds every provider's expenses (and Yandex Direct's), so a day whose
    total falls short of what this run sent is a mismatch; a larger one is not. Totals that stay zero
    for every day usually mean end-to-end analytics is switched off for the counter (unconfirmed).

    :param hook: the Metrika hook.
    :param counter: the counter.
    :param report: the expenses report as pushed to XCom (``dates``, ``totals``, ``currency``: a
        blank code is the counter's currency, taken as RUB).
    :param check: ``error`` to fail on a mismatch, ``warn`` to warn.
    :param log: the task's log.
    :raises MetrikaUploadingFailedError: with ``check="error"``, on a day whose total falls short.
    """
    days, sent = list(report.get("dates") or []), dict(report.get("totals") or {})
    currencies = sorted(report.get("currency") or [])
    if not days:
        return
    if len(currencies) > 1:
        log.warning(
            "Totals not compared: the expenses were sent in %s, and Metrika totals one currency", currencies
        )
        return
    # Rows without a Currency are in the counter's, which is not read: RUB, Metrika's default.
    currency = currencies[0] if currencies and currencies[0] else "RUB"
    try:
        found = {
            day.isoformat(): total
            for day, total in hook.get_expense_totals(counter, days[0], days[-1], currency=currency).items()
        }
    except MetrikaAccessDeniedError:
        log.warning(
            "Totals not compared: the token cannot read counter %s's reports (403: metrika:read)", counter
        )
        return
    lines = [f"{'day':<12}{'sent':>14}{'in Metrika':>14}  {currency}"]
    short = []
    for day in days:
        mine, theirs = float(sent.get(day, 0.0)), float(found.get(day, 0.0))
        lines.append(
            f"{day:<12}{mine:>14,.2f}{theirs:>14,.2f}{'  short' if theirs + TOLERANCE < mine else ''}"
        )
        if theirs + TOLERANCE < mine:
            short.append(day)
    log.info("Expenses per day, sent and as Metrika's reports total them:\n%s", "\n".join(lines))
    if not short:
        return
    zero = all(float(found.get(day, 0.0)) == 0.0 for day in days)
    message = (
        f"Metrika's expense totals fall short of what was sent on {len(short)} of {len(days)} days "
        f"({', '.join(short[:10])}{'...' if len(short) > 10 else ''}) on counter {counter}. "
        + (
            "Every day reads zero: end-to-end analytics looks switched off for the counter (Metrika's "
            "counter settings), or the reports have not caught up yet."
            if zero
            else "The reports may not have caught up yet; otherwise check the currency and the UTM "
            "values (matched case-sensitively)."
        )
    )
    if check == "error":
        raise MetrikaUploadingFailedError(message)
    log.warning("%s", message)
