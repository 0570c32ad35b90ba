"""Offline conversions and calls core: check them and write Metrika's CSV files, without Airflow.

Use :func:`prepare_offline_conversions` or :func:`prepare_calls`. Every invalid row is refused before
anything is written, because Metrika drops invalid rows without an error.
"""

from __future__ import annotations

from airflow_provider_metrika.offline_conversions.columns import CLIENT_ID_TYPES
from airflow_provider_metrika.offline_conversions.errors import (
    ConversionsInputError,
    EmptyConversionsError,
    InvalidConversionsError,
)
from airflow_provider_metrika.offline_conversions.prepare import prepare_calls, prepare_offline_conversions
from airflow_provider_metrika.offline_conversions.report import (
    ConversionsPart,
    ConversionsReport,
    ConversionsWarning,
    PreparedConversions,
)

__all__ = [
    "CLIENT_ID_TYPES",
    "ConversionsInputError",
    "ConversionsPart",
    "ConversionsReport",
    "ConversionsWarning",
    "EmptyConversionsError",
    "InvalidConversionsError",
    "PreparedConversions",
    "prepare_calls",
    "prepare_offline_conversions",
]
