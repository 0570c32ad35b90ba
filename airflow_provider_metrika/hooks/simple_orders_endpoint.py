"""The simplified orders upload as the delivery engine sees it: request, naming, harmless re-sends."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika.constants import UPLOADING_FAILED, simple_orders_endpoint
from airflow_provider_metrika.delivery.journal import upload_key
from airflow_provider_metrika.delivery.manifest import PlannedPart

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

#: Merge modes in which applying the same file twice leaves the same orders.
IDEMPOTENT_MERGE_MODES = ("SAVE", "UPDATE")


class SimpleOrdersEndpoint:
    """
    ``POST .../data/simple_orders`` of one counter, merge mode and delimiter.

    Sending a part again is harmless only with ``SAVE`` / ``UPDATE`` and an ``id`` on every row:
    Metrika has no idempotency key, and a row without an id, or ``APPEND``, adds to what is stored.

    :param hook: the hook that makes the requests.
    :param counter_id: the counter.
    :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND`` (checked).
    :param delimiter_type: ``COMMA`` or ``SEMICOLON`` (checked).
    :param file_stem: the name of the file sent; None names parts ``orders-00001.csv`` by position.
    """

    row_noun = "orders"

    def __init__(
        self,
        hook: MetrikaHook,
        counter_id: int,
        merge_mode: str,
        delimiter_type: str,
        file_stem: str | None = None,
    ) -> None:
        self.hook = hook
        self.counter_id = counter_id
        self.merge_mode = merge_mode
        self.delimiter_type = delimiter_type
        self.file_stem = file_stem
        self.base_url = hook.base_url_checked
        text = "\n".join(
            ["simple_orders", self.base_url.rstrip("/").lower(), str(counter_id), merge_mode, delimiter_type]
        )
        self.destination_key = hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        """Name the destination for messages."""
        return f"counter {self.counter_id}"

    def request_name(self) -> str:
        """Name the request for retry log lines."""
        return f"POST {simple_orders_endpoint(self.counter_id)}"

    def file_name(self, part: PlannedPart) -> str:
        """Return the name a part is sent under, before the engine's unique tag."""
        return self.file_stem or f"orders-{part.position:05d}.csv"

    def post(self, file: Any, name: str) -> dict[str, Any]:
        """Send one part under ``name``."""
        return self.hook.post_simple_orders(
            self.counter_id, file, name, merge_mode=self.merge_mode, delimiter_type=self.delimiter_type
        )

    def find_titled(self, name: str, since: datetime) -> dict[str, Any] | None:
        """Return the uploading listed under exactly ``name`` since ``since``, or None."""
        return self.hook.find_titled_uploading(self.counter_id, name, not_before=since)

    def resend_is_harmless(self, part: PlannedPart) -> bool:
        """Tell whether applying the part twice leaves the same orders."""
        return self.merge_mode in IDEMPOTENT_MERGE_MODES and part.rows_without_id == 0

    def failed(self, uploading: dict[str, Any]) -> bool:
        """Tell whether Metrika's answer already says the file was rejected."""
        return str(uploading.get("api_validation_status") or "").upper() == UPLOADING_FAILED

    def uploading_id(self, uploading: dict[str, Any]) -> str:
        """Return the uploading's id."""
        return str(uploading.get("uploading_id"))

    def legacy_key(self, part: PlannedPart) -> str | None:
        """Return the key earlier versions gave the records of a file with these bytes."""
        return upload_key(self.base_url, self.counter_id, self.merge_mode, self.delimiter_type, part.sha256)
