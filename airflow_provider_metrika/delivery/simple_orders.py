"""Simplified orders through the delivery engine: the endpoint (request, naming, harmless re-sends)
and :func:`upload_simple_orders`, the exactly-once upload of one file outside an operator."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_metrika.arguments import check_choice, check_upload_arguments
from airflow_provider_metrika.constants import (
    DELIMITER_TYPES,
    MERGE_MODES,
    UPLOADING_FAILED,
    simple_orders_endpoint,
)
from airflow_provider_metrika.delivery.engine import DeliveryEngine, local_parts
from airflow_provider_metrika.delivery.journal import MemoryUploadJournal, UploadJournal, upload_key
from airflow_provider_metrika.delivery.manifest import PlannedPart
from airflow_provider_metrika.hooks.upload_file import UploadFile

if TYPE_CHECKING:
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

#: Merge modes in which applying the same file twice leaves the same orders.
IDEMPOTENT_MERGE_MODES = ("SAVE", "UPDATE")


def merge_mode_resends_harmlessly(merge_mode: str) -> bool:
    """Tell whether applying the same rows twice in this merge mode leaves the same orders.

    :param merge_mode: ``SAVE``, ``UPDATE`` or ``APPEND``.
    """
    return merge_mode.upper() in IDEMPOTENT_MERGE_MODES


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
    resend_harm = "with rows lacking an order id, or merge_mode APPEND, a second copy would add to the first"
    resend_fix = "use merge_mode SAVE / UPDATE with an id on every row, which makes sending again harmless"
    where_listed = "Metrika's CRM data page, or MetrikaHook.list_uploadings"

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
        return merge_mode_resends_harmlessly(self.merge_mode) and part.rows_without_id == 0

    def replaces_what_it_changes(self, part: PlannedPart) -> bool:
        """A changed order sent again in SAVE / UPDATE replaces the earlier one by its id."""
        return self.resend_is_harmless(part)

    def failed(self, uploading: dict[str, Any]) -> bool:
        """Tell whether Metrika's answer already says the file was rejected."""
        return str(uploading.get("api_validation_status") or "").upper() == UPLOADING_FAILED

    def uploading_id(self, uploading: dict[str, Any]) -> str:
        """Return the uploading's id."""
        return str(uploading.get("uploading_id"))

    def status(self, uploading: dict[str, Any]) -> str:
        """Return the uploading's validation status."""
        return str(uploading.get("api_validation_status"))

    def errors(self, uploading: dict[str, Any]) -> list[str]:
        """Return Metrika's validation errors of a rejected uploading."""
        return [str(error) for error in uploading.get("api_validation_errors") or []]

    def legacy_key(self, part: PlannedPart) -> str | None:
        """Return the key earlier versions gave the records of a file with these bytes."""
        return upload_key(self.base_url, self.counter_id, self.merge_mode, self.delimiter_type, part.sha256)


def upload_simple_orders(
    hook: MetrikaHook,
    counter_id: int | str | None,
    file: str | os.PathLike[str] | IO[bytes],
    merge_mode: str = "SAVE",
    delimiter_type: str = "COMMA",
    *,
    filename: str | None = None,
    expected_rows: int | None = None,
    all_rows_have_ids: bool = False,
    journal: UploadJournal | None = None,
    content_sha256: str | None = None,
    force_resend: bool = False,
    position: int = 1,
) -> dict[str, Any]:
    """
    Upload one simplified-orders CSV exactly once, streamed from disk; return Metrika's ``uploading``.

    The delivery engine (:mod:`airflow_provider_metrika.delivery.engine`) sends it under a
    file name unique to each POST, with a ``sending`` record before and an ``accepted``
    record after in ``journal``: an upload accepted earlier is returned without sending; a
    quota answer or a connection never opened is sent again after a backoff; a lost answer
    (5xx, a reset, a read timeout, or a ``sending`` left by an earlier call) is adopted when
    listed under its unique name, sent again only when that is harmless (every row has an
    ``id`` and ``merge_mode`` is SAVE or UPDATE), and otherwise raises
    :class:`~airflow_provider_metrika.exceptions.MetrikaUploadUncertainError`.

    :param hook: the hook that sends (its connection, retry policy and waits).
    :param counter_id: the counter, or None for the connection's default counter.
    :param file: a path, or a seekable binary file object, of a UTF-8 CSV of at most 1 GB.
    :param merge_mode: ``SAVE`` (replace each order), ``UPDATE`` (change the fields sent) or
        ``APPEND`` (add list values).
    :param delimiter_type: ``COMMA`` or ``SEMICOLON``, the file's delimiter.
    :param filename: the stem of the file names sent (default: the file's own name); each POST
        adds a tag unique to it.
    :param expected_rows: the file's data rows, for messages.
    :param all_rows_have_ids: every row has an order id (re-sending with SAVE / UPDATE is harmless).
    :param journal: where records are kept; default: in memory, for this call only. Pass a
        durable one to carry the rule across processes (the operator keeps it in Airflow).
    :param content_sha256: the file's SHA-256, when the caller knows it (else it is computed).
    :param force_resend: send again a file whose send by an *earlier* call with this journal is
        unresolved, even when that is not harmless (after checking in Metrika that it was not
        stored); it never re-sends a send of this call.
    :param position: the file's place among the files a caller sends with one journal: two
        identical files at two places are two uploads.
    :return: the ``uploading`` object: ``uploading_id``, ``api_validation_status``, ...
    """
    counter = hook.resolve_counter_id(counter_id)
    check_upload_arguments(filename, expected_rows)
    upload = UploadFile(file, filename, expected_rows)
    endpoint = SimpleOrdersEndpoint(
        hook,
        counter,
        check_choice("merge_mode", merge_mode, MERGE_MODES),
        check_choice("delimiter_type", delimiter_type, DELIMITER_TYPES),
        file_stem=upload.name,
    )
    part = PlannedPart(
        position=position,
        sha256=content_sha256 or upload.sha256(),
        rows=expected_rows,
        rows_without_id=0 if all_rows_have_ids else max(1, expected_rows or 0),
        bytes=upload.size,
    )
    engine = DeliveryEngine.through(
        hook,
        endpoint,
        journal if journal is not None else MemoryUploadJournal(),
        owner="",
        force_resend=force_resend,
    )
    return engine.send(part, local_parts({position: upload}), upload.name)
