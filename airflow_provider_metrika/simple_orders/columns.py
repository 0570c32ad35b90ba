"""Column names, statuses and limits of Metrika's simplified orders file."""

from __future__ import annotations

#: Documented columns, in the documented order: parts are written in this order.
SIMPLE_ORDERS_COLUMNS: tuple[str, ...] = (
    "id",
    "create_date_time",
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

#: Columns that identify the customer: every row needs at least one of them filled.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("client_ids", "emails", "phones", "emails_md5", "phones_md5")

#: Order statuses Metrika knows; anything else in ``order_status`` must be a goal id.
ORDER_STATUSES: tuple[str, ...] = ("PAID", "IN_PROGRESS", "CANCELLED", "SPAM")

#: Spellings accepted for the statuses (compared upper-cased) and the status each one means.
STATUS_ALIASES: dict[str, str] = {
    "PAID": "PAID",
    "IN_PROGRESS": "IN_PROGRESS",
    "CANCELLED": "CANCELLED",
    "CANCELED": "CANCELLED",
    "SPAM": "SPAM",
}

#: Key under which rows with an empty status are counted: Metrika reads them as PAID.
DEFAULT_STATUS_LABEL = "PAID (default)"

#: Currency counted for rows without a currency: an empty currency means roubles.
DEFAULT_CURRENCY = "RUB"

REQUIRED_COLUMN = "create_date_time"
ID_COLUMN = "id"

#: Columns whose cells may hold several comma-joined values.
MULTI_VALUE_COLUMNS: frozenset[str] = frozenset(
    {"client_ids", "emails", "phones", "emails_md5", "phones_md5", "goals"}
)

#: Raw identifier column -> the hashed column written instead when hashing.
HASHED_COLUMNS: dict[str, str] = {"emails": "emails_md5", "phones": "phones_md5"}

#: Metrika accepts at most 1 GB per file; read as 10**9 bytes, the stricter meaning of "GB".
MAX_FILE_BYTES = 1_000_000_000

DEFAULT_BATCH_ROWS = 200_000

#: Bytes of CSV text Arrow parses at a time. Its reader reads several blocks ahead, so this bounds memory:
#: measured peak RSS while only reading a 420 MB file: 16 MB blocks 530 MB, 4 MB 310 MB, 1 MB 150 MB.
CSV_BLOCK_BYTES = 1 << 20
#: Parsed blocks are combined into batches of about this many bytes, so per-batch overhead stays small.
CSV_BATCH_BYTES = 16 << 20

PART_NAME = "part-{:05d}.csv"
PART_GLOB = "part-*.csv"
REJECTS_NAME = "rejects.csv"
#: The keys and fingerprints of the rows written, for the sync state (with a state only).
SENT_NAME = "sent-orders.arrow"

#: How many row problems reports and errors keep as examples.
MAX_EXAMPLES = 10
