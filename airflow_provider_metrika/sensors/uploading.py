"""Sensor that waits until Metrika has validated uploadings (``api_validation_status`` PASSED)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_metrika._compat import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    conf,
)
from airflow_provider_metrika.arguments import check_conn_id, check_counter_id, check_seconds
from airflow_provider_metrika.constants import DEFAULT_CONN_ID
from airflow_provider_metrika.exceptions import MetrikaUploadingTimeoutError
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from airflow_provider_metrika.triggers.uploading import MetrikaUploadingTrigger, deferral_timeout
from airflow_provider_metrika.waiting.kinds import SIMPLE_ORDERS, wait_kind
from airflow_provider_metrika.waiting.poll import poll_once
from airflow_provider_metrika.waiting.uploadings import (
    NOTHING_TO_WAIT_FOR,
    UploadingsWait,
    read_uploading_targets,
    result_from_event,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Seconds between pokes: Metrika usually lists an uploading within seconds to minutes, and each
#: poke spends one request of the daily per-user quota (5,000).
DEFAULT_POKE_INTERVAL = 30.0
#: Seconds before giving up: validation is not expected to take hours.
DEFAULT_TIMEOUT = 60.0 * 60


class MetrikaUploadingSensorTimeout(MetrikaUploadingTimeoutError, AirflowSensorTimeout):
    """The sensor's timeout passed with uploadings still pending; Airflow fails it without retries."""


class MetrikaUploadingSensor(BaseSensorOperator):
    """
    Wait until Metrika lists every given uploading with ``api_validation_status`` PASSED.

    An empty list (the upload's output on a day it had nothing to send) is a success at once, with
    one log line; an empty literal in the DAG file is refused when it is parsed. Fails at once when
    one is FAILED (with Metrika's ``api_validation_errors`` in the message). An
    uploading not listed yet, or listed with any other status, is still pending. Each poke is one
    walk back through ``last_uploadings`` for all pending ids together. Returns (and pushes to
    XCom) the uploading objects as listed, in the order of the ids.

    :param uploading_ids: one uploading id, a list of ids, or the upload operator's XCom output as
        is (a list of uploading objects with ``uploading_id`` and ``datetime``; pass the upstream
        task's ``.output`` / XComArg). Templated.
    :param counter_id: the counter; None uses the connection's default counter. Templated.
    :param metrika_conn_id: the Airflow connection to Metrika.
    :param poke_interval: seconds between pokes (and between the trigger's polls when deferred).
    :param timeout: seconds to wait in all before failing with the pending ids in the message.
    :param mode: ``poke`` or ``reschedule`` when not deferrable.
    :param deferrable: poke once, then wait in the triggerer.
    :param kind: which upload the ids belong to: ``simple_orders`` (default), or another kind of
        :mod:`airflow_provider_metrika.waiting.kinds` (its statuses and lookups).
    """

    template_fields: Sequence[str] = ("uploading_ids", "counter_id", "metrika_conn_id")
    ui_color = "#ffcc00"

    def __init__(
        self,
        *,
        uploading_ids: Any,
        counter_id: int | str | None = None,
        metrika_conn_id: str = DEFAULT_CONN_ID,
        poke_interval: float | timedelta = DEFAULT_POKE_INTERVAL,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        mode: str = "poke",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        kind: str = SIMPLE_ORDERS,
        **kwargs: Any,
    ) -> None:
        wait_kind(kind)  # an unknown kind is refused when the DAG is parsed
        check_seconds("poke_interval", poke_interval, zero=True, allow_timedelta=True)
        check_seconds("timeout", timeout, zero=True, allow_timedelta=True)
        if not _is_deferred_value(uploading_ids):
            read_uploading_targets(uploading_ids, id_field=wait_kind(kind).id_field)
        if counter_id is not None and not _is_deferred_value(counter_id):
            check_counter_id(counter_id)
        check_conn_id("metrika_conn_id", metrika_conn_id)
        super().__init__(poke_interval=poke_interval, timeout=timeout, mode=mode, **kwargs)
        self.uploading_ids = uploading_ids
        self.counter_id = counter_id
        self.metrika_conn_id = metrika_conn_id
        self.deferrable = deferrable
        self.kind = kind
        self._wait: UploadingsWait | None = None

    @cached_property
    def hook(self) -> MetrikaHook:
        """The Metrika hook of this task."""
        return MetrikaHook(self.metrika_conn_id)

    def _waiting(self) -> UploadingsWait:
        # Built on first use, after templates and XComArgs are resolved; kept across pokes of one try.
        if self._wait is None:
            targets = read_uploading_targets(
                self.uploading_ids, allow_empty=True, id_field=wait_kind(self.kind).id_field
            )
            counter = self.hook.resolve_counter_id(self.counter_id)
            self._wait = UploadingsWait.from_targets(counter, targets, wait_kind(self.kind).reader)
        return self._wait

    def poke(self, context: Context) -> bool:
        """Look up every pending uploading in one search: True when all PASSED, raise on FAILED."""
        wait = self._waiting()
        find = wait_kind(self.kind).find
        if not poll_once(wait, lambda ids, since: find(self.hook, wait.counter_id, ids, since)):
            self.log.info("Waiting for Metrika to validate: %s", wait.describe_pending())
            return False
        self.log.info(wait.success_message())
        return True

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Wait by poking (``poke`` / ``reschedule`` mode) or in the triggerer (``deferrable``)."""
        self._wait = None
        id_field = wait_kind(self.kind).id_field
        if not read_uploading_targets(self.uploading_ids, allow_empty=True, id_field=id_field).ids:
            # A quiet day: the upload sent nothing, so there is nothing to wait for.
            self.log.info(NOTHING_TO_WAIT_FOR)
            return []
        if self.deferrable:
            # The deadline travels in the trigger: a framework timeout would skip execute_complete.
            deadline = time.time() + self.timeout
            if not self.poke(context):
                wait = self._waiting()
                self.defer(
                    trigger=MetrikaUploadingTrigger(
                        metrika_conn_id=self.metrika_conn_id,
                        counter_id=wait.counter_id,
                        uploading_ids=list(wait.ids),
                        poll_interval=self.poke_interval,
                        deadline=deadline,
                        not_before=wait.initial_not_before,
                        kind=self.kind,
                    ),
                    method_name="execute_complete",
                    timeout=min(
                        filter(None, [deferral_timeout(deadline, self.poke_interval), self.execution_timeout])
                    ),
                )
            return list(self._waiting().uploadings.values())
        try:
            super().execute(context)
        except AirflowSensorTimeout:
            raise MetrikaUploadingSensorTimeout(self._timeout_message()) from None
        except AirflowSkipException:
            # With soft_fail the base class skips on timeout with its own words: say which are pending.
            if self.soft_fail and self._wait is not None and self._wait.pending:
                raise AirflowSkipException(self._timeout_message()) from None
            raise
        return list(self._waiting().uploadings.values())

    def _timeout_message(self) -> str:
        wait = self._waiting()
        return wait.timeout_message(f"within the sensor's timeout of {self.timeout:g} s")

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """
        Resume after the trigger's event: return the uploadings on success, raise otherwise.

        :param context: the task context.
        :param event: the trigger's event payload.
        """
        uploadings = result_from_event(event, timeout_error=MetrikaUploadingSensorTimeout)
        self.log.info(event.get("message"))
        return list(uploadings.values())


def _is_deferred_value(value: Any) -> bool:
    """Tell whether a value is only known at run time: a Jinja template or an XComArg."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, (list, tuple)):
        return any(_is_deferred_value(item) for item in value)
    # XComArg and other lazily resolved arguments: duck-typed, as their classes moved between versions.
    return hasattr(value, "resolve")
