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
#: The most pages of ``last_uploadings`` one search reads (a million uploadings at 1,000 a page).
MAX_LIST_PAGES: Final = 1000

#: The longest HTTP timeout accepted: a day (a bigger one is a typo that would hang a worker).
MAX_HTTP_SECONDS: Final = 86_400
#: Most retries of one request a connection or hook may ask for.
MAX_RETRY_LIMIT: Final = 100
#: The longest wait for validation or poll interval accepted: 30 days.
MAX_WAIT_SECONDS: Final = 30 * 86_400

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


#: The management API's list of the counters a token may use (needs ``metrika:read``).
COUNTERS_ENDPOINT: Final = "management/v1/counters"


def goals_endpoint(counter_id: int) -> str:
    """Return the management API path of a counter's goals."""
    return f"management/v1/counter/{counter_id}/goals"


#: The Reports API's table call; not under the CDP prefix: the counter goes in ``ids``.
REPORTS_ENDPOINT: Final = "stat/v1/data"
#: The Reports API dimension that gives one row a day (the counter's time zone).
DATE_DIMENSION: Final = "ym:s:date"
#: Rows asked per Reports API page (Metrika's default is 100, its maximum 100,000).
REPORT_PAGE_ROWS: Final = 1000
#: Metrika answers at most this many rows per Reports API page.
MAX_REPORT_PAGE_ROWS: Final = 100_000

#: CRM orders linked to visits, as the Reports API counts them (data from 2020-10-26 on):
#: every linked order except spam.
LINKED_ALL_ORDERS: Final = "ym:s:cdpOrdersAllOrders"
LINKED_IN_PROGRESS: Final = "ym:s:cdpOrdersInProgress"
#: Metrika's spelling of "paid".
LINKED_PAID: Final = "ym:s:cdpOrdersPayed"
LINKED_CANCELLED: Final = "ym:s:cdpOrdersCancelled"
LINKED_SPAM: Final = "ym:s:cdpOrdersSpam"
#: Orders whose status is a JavaScript goal identifier.
LINKED_OTHER: Final = "ym:s:cdpOrdersOther"
#: The metrics read for linked orders, in the order they are asked.
LINKED_ORDER_METRICS: Final = (
    LINKED_ALL_ORDERS,
    LINKED_IN_PROGRESS,
    LINKED_PAID,
    LINKED_CANCELLED,
    LINKED_SPAM,
    LINKED_OTHER,
)

#: The distribution name on PyPI (what `pip install` takes).
DISTRIBUTION_NAME = "airflow-provider-metrika"

#: Seconds a folded change file of a sync state is kept before a compaction removes it, and an
#: upload with no receipt is waited for before a compaction counts it as unconfirmed: longer than
#: any compaction or upload takes, so that concurrent compactions never lose a record.
SYNC_CHANGES_GRACE_SECONDS: Final = 3600.0

#: Offline conversions and calls (``management/v1/counter/{id}/offline_conversions/...``).
#: ``client_id_type`` values of an offline conversions upload (``PURCHASE_ID``: a documented column,
#: not in the answer's enum: *unconfirmed* as a query value).
CLIENT_ID_TYPES: Final = ("CLIENT_ID", "USER_ID", "YCLID", "PURCHASE_ID")
#: Identifier types a calls file may hold.
CALLS_CLIENT_ID_TYPES: Final = ("CLIENT_ID", "USER_ID", "YCLID")
#: The longest ``comment`` (the upload's tag) Metrika accepts.
MAX_COMMENT_LENGTH: Final = 255
#: Statuses of an offline conversions or calls uploading that end the wait on it.
OFFLINE_PROCESSED: Final = "PROCESSED"
OFFLINE_LINKAGE_FAILURE: Final = "LINKAGE_FAILURE"
#: Most uploadings one ``uploadings`` / ``calls_uploadings`` page is asked for (Metrika's default: 10,000).
MAX_OFFLINE_LIST_LIMIT: Final = 10_000


def offline_conversions_endpoint(counter_id: int, call: str) -> str:
    """Return the path of an offline conversions or calls call, e.g. ``upload`` or ``calls_uploadings``."""
    return f"management/v1/counter/{counter_id}/offline_conversions/{call}"
