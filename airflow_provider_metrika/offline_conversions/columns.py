"""The columns of Metrika's offline conversions and calls files, and the facts about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONVERSIONS: Final = "conversions"
CALLS: Final = "calls"

CLIENT_ID: Final = "ClientId"
USER_ID: Final = "UserId"
YCLID: Final = "Yclid"
PURCHASE_ID: Final = "PurchaseId"
TARGET: Final = "Target"
DATE_TIME: Final = "DateTime"
PRICE: Final = "Price"
CURRENCY: Final = "Currency"
STATIC_CALL: Final = "StaticCall"
PHONE_NUMBER: Final = "PhoneNumber"
TALK_DURATION: Final = "TalkDuration"
HOLD_DURATION: Final = "HoldDuration"
CALL_MISSED: Final = "CallMissed"
TAG: Final = "Tag"
FIRST_TIME_CALLER: Final = "FirstTimeCaller"
URL: Final = "URL"
CALL_TRACKER_URL: Final = "CallTrackerURL"

#: Metrika's ``client_id_type`` values and the identifier column each one sends.
CLIENT_ID_TYPES: Final = {
    "CLIENT_ID": CLIENT_ID,
    "USER_ID": USER_ID,
    "YCLID": YCLID,
    "PURCHASE_ID": PURCHASE_ID,
}

#: Identifiers that are Metrika's own numbers: digits only.
DIGIT_IDENTIFIERS: Final = frozenset({CLIENT_ID, YCLID})
#: Columns of 0/1 flags (calls).
FLAG_COLUMNS: Final = (STATIC_CALL, CALL_MISSED, FIRST_TIME_CALLER)
#: Columns of whole seconds, 0 to :data:`MAX_DURATION` (calls).
DURATION_COLUMNS: Final = (TALK_DURATION, HOLD_DURATION)
MAX_DURATION: Final = 4_294_967_295
#: Columns of http(s) URLs (calls).
URL_COLUMNS: Final = (URL, CALL_TRACKER_URL)
#: Free-text columns (besides the text identifiers): trimmed, never empty when required.
TEXT_COLUMNS: Final = frozenset({TARGET, TAG, USER_ID, PURCHASE_ID})

#: Metrika links a conversion only to visits within this many days before the file is processed.
LINK_WINDOW_DAYS: Final = 21

PART_NAME: Final = "part-{:05d}.csv"
PART_GLOB: Final = "part-*.csv"
DEFAULT_BATCH_ROWS: Final = 200_000
#: How many row problems an error keeps as examples.
MAX_EXAMPLES: Final = 10


@dataclass(frozen=True)
class FileKind:
    """One of Metrika's two offline files: its columns in the order written, and which are required.

    :param name: :data:`CONVERSIONS` or :data:`CALLS`.
    :param identifiers: the identifier columns it accepts, in the order they are offered.
    :param columns: every column but the identifiers, in the order written (after the identifier).
    :param required: the columns every file must have (besides one identifier).
    """

    name: str
    identifiers: tuple[str, ...]
    columns: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def all_columns(self) -> tuple[str, ...]:
        """Return every column the file may have."""
        return self.identifiers + self.columns

    @property
    def client_id_types(self) -> dict[str, str]:
        """Return the ``client_id_type`` values this file accepts, each with its column."""
        return {kind: column for kind, column in CLIENT_ID_TYPES.items() if column in self.identifiers}


CONVERSIONS_FILE: Final = FileKind(
    CONVERSIONS,
    (CLIENT_ID, USER_ID, YCLID, PURCHASE_ID),
    (TARGET, DATE_TIME, PRICE, CURRENCY),
    (TARGET, DATE_TIME),
)
CALLS_FILE: Final = FileKind(
    CALLS,
    (CLIENT_ID, USER_ID, YCLID),
    (
        DATE_TIME,
        STATIC_CALL,
        PRICE,
        CURRENCY,
        PHONE_NUMBER,
        TALK_DURATION,
        HOLD_DURATION,
        CALL_MISSED,
        TAG,
        FIRST_TIME_CALLER,
        URL,
        CALL_TRACKER_URL,
    ),
    (DATE_TIME,),
)
