"""Fixed values of the Metrika emulator: defaults, limits, paths and the file format vocabulary."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_TOKEN = "emulator-token"
DEFAULT_COUNTER_ID = 12345
DEFAULT_TIME_ZONE = "Europe/Moscow"

#: Metrika accepts at most 1 GB per simplified orders file.
MAX_FILE_BYTES = 1_000_000_000
#: Room for multipart headers and boundaries when judging ``Content-Length`` before reading the body.
MULTIPART_OVERHEAD_BYTES = 1_048_576
MAX_VALIDATION_ERRORS = 100
READ_CHUNK_BYTES = 1_048_576

DEFAULT_LAST_UPLOADINGS_LIMIT = 10
MAX_LAST_UPLOADINGS_LIMIT = 1000

API_PREFIX = "/cdp/api/v1/counter/{counter_id}"
UPLOAD_PATH = API_PREFIX + "/data/simple_orders"
LAST_UPLOADINGS_PATH = API_PREFIX + "/last_uploadings"
COUNTER_PATH = "/management/v1/counter/{counter_id}"
#: The list of counters the token may use (no counter in the path).
COUNTERS_PATH = "/management/v1/counters"
GOALS_PATH = COUNTER_PATH + "/goals"
#: The Reports API table call: not under a counter path, the counter is in ``ids``.
REPORTS_PATH = "/stat/v1/data"
CONTROL_PREFIX = "/_emulator"

#: Fault targets; route names of the API handlers use the same strings.
TARGET_UPLOAD = "upload"
TARGET_LAST_UPLOADINGS = "last_uploadings"
TARGET_COUNTER = "counter"
TARGET_COUNTERS = "counters"
TARGET_GOALS = "goals"
TARGET_REPORTS = "reports"
TARGET_ANY = "any"

#: Offline conversions and calls (management API): paths, and their route names / fault targets.
OFFLINE_PREFIX = COUNTER_PATH + "/offline_conversions"
CONVERSIONS_UPLOAD_PATH = OFFLINE_PREFIX + "/upload"
CONVERSIONS_UPLOADING_PATH = OFFLINE_PREFIX + "/uploading/{uploading_id}"
CONVERSIONS_UPLOADINGS_PATH = OFFLINE_PREFIX + "/uploadings"
CONVERSIONS_THRESHOLD_PATH = OFFLINE_PREFIX + "/visit_join_threshold"
CALLS_UPLOAD_PATH = OFFLINE_PREFIX + "/upload_calls"
CALLS_UPLOADING_PATH = OFFLINE_PREFIX + "/calls_uploading/{uploading_id}"
CALLS_UPLOADINGS_PATH = OFFLINE_PREFIX + "/calls_uploadings"
CALLS_THRESHOLD_PATH = OFFLINE_PREFIX + "/calls_visit_join_threshold"
TARGET_CONVERSIONS_UPLOAD = "conversions_upload"
TARGET_CONVERSIONS_UPLOADING = "conversions_uploading"
TARGET_CONVERSIONS_UPLOADINGS = "conversions_uploadings"
TARGET_CONVERSIONS_THRESHOLD = "conversions_threshold"
TARGET_CALLS_UPLOAD = "calls_upload"
TARGET_CALLS_UPLOADING = "calls_uploading"
TARGET_CALLS_UPLOADINGS = "calls_uploadings"
TARGET_CALLS_THRESHOLD = "calls_threshold"

EXPENSE_PREFIX = COUNTER_PATH + "/expense"
EXPENSES_UPLOAD_PATH = EXPENSE_PREFIX + "/upload"
EXPENSES_DELETE_PATH = EXPENSE_PREFIX + "/delete"
EXPENSES_UPLOADING_PATH = EXPENSE_PREFIX + "/uploading/{uploading_id}"
EXPENSES_UPLOADINGS_PATH = EXPENSE_PREFIX + "/uploadings"
TARGET_EXPENSES_UPLOAD = "expenses_upload"
TARGET_EXPENSES_DELETE = "expenses_delete"
TARGET_EXPENSES_UPLOADING = "expenses_uploading"
TARGET_EXPENSES_UPLOADINGS = "expenses_uploadings"
#: Fault targets whose requests carry a file: a fault that answers without processing reads it first.
UPLOAD_TARGETS = (
    TARGET_UPLOAD,
    TARGET_CONVERSIONS_UPLOAD,
    TARGET_CALLS_UPLOAD,
    TARGET_EXPENSES_UPLOAD,
    TARGET_EXPENSES_DELETE,
)

FAULT_TARGETS = (
    TARGET_UPLOAD,
    TARGET_LAST_UPLOADINGS,
    TARGET_COUNTER,
    TARGET_COUNTERS,
    TARGET_GOALS,
    TARGET_REPORTS,
    TARGET_CONVERSIONS_UPLOAD,
    TARGET_CONVERSIONS_UPLOADING,
    TARGET_CONVERSIONS_UPLOADINGS,
    TARGET_CONVERSIONS_THRESHOLD,
    TARGET_CALLS_UPLOAD,
    TARGET_CALLS_UPLOADING,
    TARGET_CALLS_UPLOADINGS,
    TARGET_CALLS_THRESHOLD,
    TARGET_EXPENSES_UPLOAD,
    TARGET_EXPENSES_DELETE,
    TARGET_EXPENSES_UPLOADING,
    TARGET_EXPENSES_UPLOADINGS,
    TARGET_ANY,
)
DROP_BEFORE = "before"
DROP_AFTER = "after"

MERGE_MODES = ("SAVE", "UPDATE", "APPEND")
DELIMITERS = {"COMMA": ",", "SEMICOLON": ";"}
DEFAULT_DELIMITER_TYPE = "COMMA"
UPLOAD_PART_NAME = "file"

STATUS_PASSED = "PASSED"
STATUS_FAILED = "FAILED"
STATUS_IN_PROGRESS = "IN_PROGRESS"

ID_COLUMN = "id"
CREATE_DATE_TIME_COLUMN = "create_date_time"
IDENTIFIER_COLUMNS = ("client_ids", "emails", "phones", "emails_md5", "phones_md5")
#: Columns whose cells hold several comma-joined values; APPEND adds to these.
LIST_COLUMNS = (*IDENTIFIER_COLUMNS, "goals")
# Written out here rather than imported from the orders core: the emulator stands for Metrika, and an
# independent copy of the format lets the tests catch a client that drifts from it.
ORDER_COLUMNS = (
    ID_COLUMN,
    CREATE_DATE_TIME_COLUMN,
    "client_uniq_id",
    "client_ids",
    "emails",
    "phones",
    "emails_md5",
    "phones_md5",
    "order_status",
    "revenue",
    "cost",
    "goals",
    "currency",
)
ORDER_STATUSES = ("PAID", "IN_PROGRESS", "CANCELLED", "SPAM")

#: Error types a fault answers with when it names none.
DEFAULT_FAULT_ERROR_TYPES = {
    420: "quota_requests_by_uid",
    429: "quota_requests_by_uid",
    503: "backend_error",
    504: "timeout",
}
DEFAULT_FAULT_ERROR_TYPE = "backend_error"


#: The largest counter id: Metrika's path parameter is an int32.
_INT32_MAX = 2**31 - 1


def parse_counter_id(value: object) -> int:
    """Read a counter id the way Metrika's int32 path parameter does.

    :param value: text or int.
    :raises ValueError: when it is not a positive int32.
    """
    text = str(value)
    if not text.isdigit() or not 0 < int(text) <= _INT32_MAX:
        raise ValueError(f"counter id must be a positive 32-bit integer, got {text!r}")
    return int(text)


#: Statuses of an offline conversions or calls uploading, in the order the emulator moves them.
OFFLINE_UPLOADED = "UPLOADED"
OFFLINE_MATCHED = "MATCHED"
OFFLINE_PROCESSED = "PROCESSED"
OFFLINE_LINKAGE_FAILURE = "LINKAGE_FAILURE"
CLIENT_ID_TYPES = ("CLIENT_ID", "USER_ID", "YCLID", "PURCHASE_ID")
#: The one-page ``type`` query of the conversions upload; omitted means ``BASIC``.
CONVERSION_UPLOAD_TYPES = ("BASIC", "CALLS", "CHATS")
MAX_COMMENT_LENGTH = 255
#: ``uploadings`` / ``calls_uploadings`` paging defaults.
DEFAULT_OFFLINE_LIST_LIMIT = 10_000
#: What ``visit_join_threshold`` answers for a counter whose window is open (no date set by a test).
OPEN_VISIT_JOIN_THRESHOLD = "2020-01-01"

#: Statuses of an expenses uploading or delete, in the order the emulator moves them.
EXPENSES_UPLOADED = "UPLOADED"
EXPENSES_IN_PROGRESS = "IN_PROGRESS"
EXPENSES_PROCESSED = "PROCESSED"
#: ``type`` of an expenses uploading: an upload or a delete.
EXPENSES_TYPE_UPLOAD = "EXPENSES"
EXPENSES_TYPE_DELETE = "REMOVES"
#: The provider Metrika records when an upload names none.
DEFAULT_EXPENSES_PROVIDER = "default"
#: The counter's currency in the emulator: rows without ``Currency`` are in it.
COUNTER_CURRENCY = "RUB"
