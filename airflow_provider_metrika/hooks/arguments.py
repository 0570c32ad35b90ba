"""Check the hook's settings and call arguments before any request: a clear error instead of a bad call."""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_metrika.constants import MAX_HTTP_SECONDS
from airflow_provider_metrika.exceptions import MetrikaInvalidArgumentError

#: Longest multipart file name sent; Metrika's limit is undocumented, file systems stop at 255 bytes.
MAX_FILENAME_CHARS = 200


def _seconds(name: str, value: Any, *, optional: bool, zero: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (value >= 0 if zero else value > 0) or value > MAX_HTTP_SECONDS:
        least = "0 or more" if zero else "greater than 0"
        raise MetrikaInvalidArgumentError(
            f"{name} must be a number of seconds {least} and at most {MAX_HTTP_SECONDS:,}; got {value!r}"
        )


def check_hook_settings(
    *, timeout: Any, connect_timeout: Any, read_timeout: Any, lost_answer_wait: Any
) -> None:
    """
    Refuse timeouts that are not positive, finite seconds (``requests`` would fail on them late).

    :param timeout: the upload timeout, or None for the connection's.
    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for an answer.
    :param lost_answer_wait: seconds to look for an upload whose answer was lost, or None.
    """
    _seconds("timeout", timeout, optional=True)
    _seconds("connect_timeout", connect_timeout, optional=False)
    _seconds("read_timeout", read_timeout, optional=False)
    _seconds("lost_answer_wait", lost_answer_wait, optional=True, zero=True)


def check_upload_arguments(filename: Any, expected_rows: Any) -> None:
    """
    Refuse a multipart file name that is a path or could break the part's header, and bad row counts.

    :param filename: the name sent for the file, or None for the file's own.
    :param expected_rows: the file's data rows, or None.
    """
    if filename is not None and not (
        isinstance(filename, str)
        and 0 < len(filename) <= MAX_FILENAME_CHARS
        and filename.isprintable()
        and not any(char in filename for char in '/\\"')
        and filename not in (".", "..")
    ):
        raise MetrikaInvalidArgumentError(
            f"filename must be a plain file name (at most {MAX_FILENAME_CHARS} printable characters, no "
            f"/, \\ or quotes), e.g. orders.csv; got {str(filename)[:100]!r}"
        )
    if expected_rows is not None and (
        isinstance(expected_rows, bool) or not isinstance(expected_rows, int) or expected_rows < 0
    ):
        raise MetrikaInvalidArgumentError(
            f"expected_rows must be a whole number of rows, 0 or more; got {expected_rows!r}"
        )
