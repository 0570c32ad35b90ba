"""The columns of Metrika's expenses file, its traffic-source table, and the rule for Yandex Direct rows."""

from __future__ import annotations

from typing import Final

DATE: Final = "Date"
UTM_SOURCE: Final = "UTMSource"
TRAFFIC_SOURCE: Final = "TrafficSource"
TRAFFIC_SOURCE_DETAIL: Final = "TrafficSourceDetail"
UTM_MEDIUM: Final = "UTMMedium"
UTM_CAMPAIGN: Final = "UTMCampaign"
UTM_TERM: Final = "UTMTerm"
UTM_CONTENT: Final = "UTMContent"
EXPENSES: Final = "Expenses"
CURRENCY: Final = "Currency"
CLICKS: Final = "Clicks"

#: Every column, in the order parts are written.
ALL_COLUMNS: Final = (
    DATE,
    UTM_SOURCE,
    UTM_MEDIUM,
    UTM_CAMPAIGN,
    UTM_TERM,
    UTM_CONTENT,
    TRAFFIC_SOURCE,
    TRAFFIC_SOURCE_DETAIL,
    EXPENSES,
    CURRENCY,
    CLICKS,
)
#: Columns every file needs (besides one of :data:`SOURCE_COLUMNS`).
REQUIRED: Final = (DATE, EXPENSES)
#: A file needs at least one of these, and every row a value in one of them.
SOURCE_COLUMNS: Final = (UTM_SOURCE, TRAFFIC_SOURCE)
#: Columns whose values Metrika matches to visits exactly, case included: sent as given.
UTM_COLUMNS: Final = (UTM_SOURCE, UTM_MEDIUM, UTM_CAMPAIGN, UTM_TERM, UTM_CONTENT)

#: Metrika's traffic sources (the values of ``TrafficSource``).
TRAFFIC_SOURCES: Final = (
    "internal",
    "direct",
    "referral",
    "organic",
    "ad",
    "saved",
    "undefined",
    "email",
    "social",
    "messenger",
    "qrcode",
    "recommend",
)
#: Details of the sources whose details Metrika's table lists. The lists are the details known here,
#: not Yandex's full table: another detail is sent with a warning, never refused.
SOURCE_DETAILS: Final[dict[str, frozenset[str]]] = {
    "ad": frozenset(
        {
            "google_adwords",
            "vk_ads",
            "target_mail_ru",
            "mytarget",
            "ozon",
            "tiktok",
            "facebook_ads",
            "instagram_ads",
            "wildberries",
            "avito",
            "telegram_ads",
            "bing_ads",
            "yandex_market",
        }
    ),
    "organic": frozenset(
        {"yandex", "google", "bing", "mail_ru", "rambler", "yahoo", "duckduckgo", "baidu", "nigma", "tut_by"}
    ),
    "social": frozenset(
        {
            "vkontakte",
            "facebook",
            "twitter",
            "odnoklassniki",
            "instagram",
            "youtube",
            "linkedin",
            "pinterest",
            "livejournal",
            "moi_krug",
            "tiktok",
            "dzen",
        }
    ),
    "messenger": frozenset({"telegram", "whatsapp", "viber", "skype", "vkontakte", "facebook"}),
    "recommend": frozenset({"yandex_zen", "dzen", "yandex_recommend"}),
}
#: The source whose detail is a domain.
REFERRAL: Final = "referral"
#: The source of paid ads, the only one where a detail can name Yandex Direct.
AD: Final = "ad"

#: ``UTMSource`` values (compared in lower case) that mean Yandex Direct.
DIRECT_UTM_SOURCES: Final = frozenset(
    {
        "yandex",
        "direct",
        "yandex.direct",
        "yandexdirect",
        "yandex_direct",
        "ya_direct",
        "ya-direct",
        "yadirect",
    }
)
#: ``TrafficSourceDetail`` values (compared in lower case) of ``ad`` that mean Yandex Direct.
DIRECT_DETAILS: Final = frozenset({"yandex_direct", "direct", "yandex.direct", "yandexdirect", "yandex"})

#: The parts (named by the orders core's part writer) and the delete file a run leaves in its workdir.
PART_GLOB: Final = "part-*.csv"
DELETE_NAME: Final = "delete.csv"
DEFAULT_BATCH_ROWS: Final = 200_000
#: Metrika takes a file of at most this many bytes.
MAX_FILE_BYTES: Final = 1_000_000_000
#: The longest date range accepted in one row or in ``date_range=`` (days): longer is a typo.
MAX_RANGE_DAYS: Final = 3_660
