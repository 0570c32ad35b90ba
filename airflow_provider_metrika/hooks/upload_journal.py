"""The upload journal's public names, kept here for earlier callers (see :mod:`.delivery.journal`)."""

from __future__ import annotations

from airflow_provider_metrika.delivery.journal import (
    ACCEPTED,
    SENDING,
    DeliveryJournal,
    MemoryUploadJournal,
    UploadJournal,
    UploadRecord,
    part_key,
    unique_upload_name,
    upload_key,
)

__all__ = [
    "ACCEPTED",
    "SENDING",
    "DeliveryJournal",
    "MemoryUploadJournal",
    "UploadJournal",
    "UploadRecord",
    "part_key",
    "unique_upload_name",
    "upload_key",
]
