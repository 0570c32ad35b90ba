"""Facts of the Metrika API that the hook, the operator and the sensor share."""

from __future__ import annotations

from typing import Final

DEFAULT_API_URL: Final = "https://api-metrika.yandex.net"
DEFAULT_CONN_ID: Final = "metrika_default"
CONN_TYPE: Final = "metrika"

MERGE_MODES: Final = ("SAVE", "UPDATE", "APPEND")
DELIMITER_TYPES: Final = ("COMMA", "SEMICOLON")

#: Metrika refuses a simplified-orders file larger than this many bytes.
MAX_UPLOAD_BYTES: Final = 1_000_000_000

#: Choices of the orders core's options, shared by ``prepare_simple_orders`` and the operator.
ON_INVALID: Final = ("fail", "skip")
DUPLICATES: Final = ("error", "keep_last")
UNKNOWN_COLUMNS: Final = ("error", "drop")
#: Decimal separators of ``revenue`` and ``cost`` text (``decimal=``; None picks from the input).
DECIMALS: Final = (".", ",")
#: The smallest part file the orders core writes.
MIN_PART_BYTES: Final = 64

#: Values of ``api_validation_status`` that end the wait on an uploading.
UPLOADING_PASSED: Final = "PASSED"
UPLOADING_FAILED: Final = "FAILED"

#: ``last_uploadings`` accepts ``limit`` in 1..1000.
MAX_LIST_LIMIT: Final = 1000

COUNTER_PAGE_URL: Final = "https://metrika.yandex.ru/dashboard?id={counter_id}"


def simple_orders_endpoint(counter_id: int) -> str:
    """Return the path of the simplified orders upload for a counter."""
    return f"cdp/api/v1/counter/{counter_id}/data/simple_orders"


def last_uploadings_endpoint(counter_id: int) -> str:
    """Return the path of the recent uploadings list for a counter."""
    return f"cdp/api/v1/counter/{counter_id}/last_uploadings"


def counter_endpoint(counter_id: int) -> str:
    """Return the management API path of a counter."""
    return f"management/v1/counter/{counter_id}"


def goals_endpoint(counter_id: int) -> str:
    """Return the management API path of a counter's goals."""
    return f"management/v1/counter/{counter_id}/goals"


#: Seconds a folded change file of a sync state is kept before a compaction removes it, and an
#: upload with no receipt is waited for before a compaction counts it as unconfirmed: longer than
#: any compaction or upload takes, so that concurrent compactions never lose a record.
SYNC_CHANGES_GRACE_SECONDS: Final = 3600.0
