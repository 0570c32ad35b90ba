"""Ad expenses: one hook method per Metrika call, mixed into ``MetrikaHook``.

Every POST carries ``provider`` (whose expenses these are) and a unique ``comment``; Metrika echoes
both in each status and list object, so a lost answer is found again by its comment. POSTs follow
the rule of the other uploads: only a failure that proves nothing was stored (a quota answer, a
connection never opened) is tried again. Reads are retried like every other GET.

Unconfirmed, and read tolerantly here: which ``ym:ev:`` metric names Metrika's Reports API takes for
expenses (``ym:ev:expenses<Currency>`` per the docs' examples, e.g. ``ym:ev:expensesRUB``), that
``ym:ev:date`` gives one row a day, and whether totals reading zero mean that end-to-end analytics
is switched off for the counter.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from airflow_provider_metrika.arguments import check_counter_id
from airflow_provider_metrika.constants import MAX_COMMENT_LENGTH, REPORTS_ENDPOINT
from airflow_provider_metrika.exceptions import MetrikaError, MetrikaInvalidArgumentError
from airflow_provider_metrika.hooks.offline_conversions import (
    UploadSource,
    _Hook,
    _list_params,
    _post,
    _upload_file,
    _uploading,
    _uploading_id,
    _uploadings,
    check_comment,
)
from airflow_provider_metrika.hooks.reports import report_date

_CURRENCY = re.compile(r"[A-Z]{3}")
#: The Reports API's dimension of one row a day for expense metrics.
EXPENSE_DATE_DIMENSION = "ym:ev:date"
#: The Reports API answers at most this many rows a page.
_MAX_ROWS = 100_000


def expense_endpoint(counter_id: int, call: str) -> str:
    """Return the path of an expenses call, e.g. ``upload`` or ``uploadings``.

    :param counter_id: the counter.
    :param call: the call's last path segments.
    """
    return f"management/v1/counter/{counter_id}/expense/{call}"


def expense_metric(currency: str) -> str:
    """Return the Reports API metric of expenses in a currency, e.g. ``ym:ev:expensesRUB``.

    :param currency: ISO 4217 alpha-3 code.
    """
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise MetrikaInvalidArgumentError(
            f"currency must be a 3-letter upper-case code such as RUB; got {currency!r}"
        )
    return f"ym:ev:expenses{currency}"


def check_provider(provider: Any) -> str:
    """Return ``provider`` when it names a provider, or raise before anything is sent.

    A delete without a provider wipes every provider's expenses on its days, so an empty one is
    refused. Which characters Metrika takes is unconfirmed: at most 255, no control characters.

    :param provider: the provider name sent.
    """
    if not isinstance(provider, str) or not provider.strip():
        raise MetrikaInvalidArgumentError(
            f"provider must be a non-empty string naming whose expenses these are; got {provider!r}. "
            "Without it Metrika's delete removes every provider's expenses on those days"
        )
    if len(provider) > MAX_COMMENT_LENGTH or not provider.isprintable() or provider != provider.strip():
        raise MetrikaInvalidArgumentError(
            f"provider {provider!r} must be at most {MAX_COMMENT_LENGTH} printable characters without "
            "spaces around: use a short pipeline name such as 'vk_ads_dwh'"
        )
    return provider


def _totals(answer: Any, where: str) -> dict[dt.date, float]:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise MetrikaError(f"Metrika's answer to {where} has no 'data' list: {str(answer)[:200]}")
    totals: dict[dt.date, float] = {}
    for row in data:
        try:
            day = dt.date.fromisoformat(str(row["dimensions"][0]["name"])[:10])
            value = row["metrics"][0]
        except (KeyError, IndexError, TypeError, ValueError):
            raise MetrikaError(
                f"Metrika's answer to {where} has a row without a day: {str(row)[:200]}"
            ) from None
        totals[day] = totals.get(day, 0.0) + (0.0 if value is None else float(value))
    return totals


class ExpensesCalls:
    """
    ``MetrikaHook``'s calls of the expenses API (``management/v1/counter/{id}/expense/...``): uploads
    and deletes need ``metrika:expenses`` or ``metrika:write``, reads ``metrika:read``.
    """

    def post_expenses(
        self: _Hook,
        counter_id: int | str | None,
        file: UploadSource,
        *,
        provider: str,
        comment: str,
        file_name: str = "expenses.csv",
    ) -> dict[str, Any]:
        """
        Send one expenses CSV in one POST, streamed; return Metrika's ``uploading``.

        Whether Metrika replaces earlier expenses of the same provider and period or adds to them is
        unconfirmed: delete the provider's days first (:meth:`post_expenses_delete`) and wait.

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path or a seekable binary file object.
        :param provider: whose expenses these are; required, so another provider's are never touched.
        :param comment: the upload's tag, unique to this POST: letters and digits, at most 255.
        :param file_name: the file name sent in the multipart part.
        """
        counter = self.resolve_counter_id(counter_id)
        params = {"provider": check_provider(provider), "comment": check_comment(comment)}
        endpoint = expense_endpoint(counter, "upload")
        return _post(self, endpoint, params, _upload_file(file, file_name), f"expenses to counter {counter}")

    def post_expenses_delete(
        self: _Hook,
        counter_id: int | str | None,
        file: UploadSource,
        *,
        provider: str,
        comment: str,
        file_name: str = "delete.csv",
    ) -> dict[str, Any]:
        """
        Send a delete CSV (``Date`` and optional UTM columns) in one POST; return Metrika's ``uploading``.

        ``provider`` is required and never empty: Metrika's delete without one removes every
        provider's expenses on those days, so the hook refuses it before sending.

        :param counter_id: the counter, or None for the connection's default counter.
        :param file: a path or a seekable binary file object.
        :param provider: whose expenses are deleted.
        :param comment: the delete's tag, unique to this POST: letters and digits, at most 255.
        :param file_name: the file name sent in the multipart part.
        """
        counter = self.resolve_counter_id(counter_id)
        params = {"provider": check_provider(provider), "comment": check_comment(comment)}
        endpoint = expense_endpoint(counter, "delete")
        noun = f"an expenses delete of provider {provider} on counter {counter}"
        return _post(self, endpoint, params, _upload_file(file, file_name), noun)

    def get_expenses_uploading(
        self: _Hook, counter_id: int | str | None, uploading_id: int | str
    ) -> dict[str, Any]:
        """
        Return one expenses upload or delete: ``status`` (UPLOADED, IN_PROGRESS, PROCESSED), ``type``...

        :param counter_id: the counter, or None for the connection's default counter.
        :param uploading_id: the ``id`` of the POST's answer.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = expense_endpoint(counter, f"uploading/{_uploading_id(uploading_id)}")
        return _uploading(self._get(endpoint), f"GET {endpoint}")

    def list_expenses_uploadings(
        self: _Hook, counter_id: int | str | None, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """
        Return one page of the counter's expenses uploads and deletes, newest first.

        :param counter_id: the counter, or None for the connection's default counter.
        :param limit: how many, 1 to 10,000.
        :param offset: how many of the newest to skip, for paging back.
        """
        counter = self.resolve_counter_id(counter_id)
        endpoint = expense_endpoint(counter, "uploadings")
        return _uploadings(self._get(endpoint, _list_params(limit, offset)), f"GET {endpoint}")

    async def aget_expenses_uploading(
        self: _Hook, counter_id: int | str, uploading_id: int | str
    ) -> dict[str, Any]:
        """Asynchronous twin of :meth:`get_expenses_uploading`, for triggers."""
        endpoint = expense_endpoint(check_counter_id(counter_id), f"uploading/{_uploading_id(uploading_id)}")
        return _uploading(await self._aget(endpoint), f"GET {endpoint}")

    def get_expense_totals(
        self: _Hook, counter_id: int | str | None, date1: Any, date2: Any, *, currency: str = "RUB"
    ) -> dict[dt.date, float]:
        """
        Return the counter's expenses per day, read back through the Reports API (needs ``metrika:read``).

        Days Metrika lists no row for are left out (read them as 0). Totals that stay 0 after a
        processed upload may mean end-to-end analytics is off for the counter (unconfirmed).

        :param counter_id: the counter, or None for the connection's default counter.
        :param date1: the first day (a date or ``YYYY-MM-DD``).
        :param date2: the last day, included.
        :param currency: the currency of the metric (``ym:ev:expenses<currency>``).
        """
        first, last = report_date(date1, "date1"), report_date(date2, "date2")
        days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
        if not 1 <= days <= _MAX_ROWS:
            raise MetrikaInvalidArgumentError(f"date1 {first} must not be after date2 {last}")
        params = {
            "ids": self.resolve_counter_id(counter_id),
            "metrics": expense_metric(currency),
            "dimensions": EXPENSE_DATE_DIMENSION,
            "date1": first,
            "date2": last,
            "accuracy": "full",
            "limit": days,
        }
        return _totals(self._get(REPORTS_ENDPOINT, params), f"GET {REPORTS_ENDPOINT}")
