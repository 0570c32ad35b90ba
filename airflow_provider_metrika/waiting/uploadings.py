"""
Waiting on Metrika uploadings without HTTP: which are done, failed or pending; messages; trigger events.

Shared by :class:`~airflow_provider_metrika.sensors.uploading.MetrikaUploadingSensor`, its trigger
and the upload operators' waits, so that all of them read statuses, word their failures and handle
trigger events the same way. What a status means is the upload kind's :class:`StatusReader`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from airflow_provider_metrika.arguments import parse_literal
from airflow_provider_metrika.constants import UPLOADING_FAILED, UPLOADING_PASSED
from airflow_provider_metrika.exceptions import (
    MetrikaError,
    MetrikaInvalidArgumentError,
    MetrikaUploadingFailedError,
    MetrikaUploadingTimeoutError,
)
from airflow_provider_metrika.hooks.uploadings_search import UploadingsSearch

#: ``status`` values of the one event :class:`MetrikaUploadingTrigger` yields.
EVENT_SUCCESS: Final = "success"
EVENT_FAILED: Final = "failed"
EVENT_TIMEOUT: Final = "timeout"
EVENT_ERROR: Final = "error"
EVENT_STATUSES: Final = (EVENT_SUCCESS, EVENT_FAILED, EVENT_TIMEOUT, EVENT_ERROR)

#: The one line logged when a wait is given no uploadings (an upload that had nothing to send).
NOTHING_TO_WAIT_FOR: Final = "No uploadings to wait for (the upload sent nothing): done."
#: How a message names an uploading that ``last_uploadings`` does not list yet.
NOT_LISTED: Final = "not listed yet"

# Metrika's error list has no documented size; a message (and the event stored in the metadata DB)
# stays readable with this many per uploading.
_MAX_ERRORS_SHOWN = 10
_MAX_ERROR_CHARS = 300
_MAX_IDS_SHOWN = 20


@dataclass(frozen=True)
class UploadingTargets:
    """
    The uploadings a task waits on, read from its ``uploading_ids`` argument.

    :param ids: the uploading ids, de-duplicated, in the order given.
    :param not_before: the oldest ``datetime`` among them (``YYYY-MM-DDTHH:MM:SSZ``), or None when
        any of them came without one: then a search pages back without that bound.
    """

    ids: tuple[str, ...]
    not_before: str | None


def read_uploading_targets(
    value: Any, parameter: str = "uploading_ids", *, allow_empty: bool = False, id_field: str = "uploading_id"
) -> UploadingTargets:
    """
    Read the uploadings to wait on from one id, a list of ids, or uploading objects.

    Accepted: an id string; a list of id strings; an uploading object (a dict with
    ``uploading_id`` and, ideally, ``datetime``) or a list of them, as the upload operator pushes
    to XCom; a string holding such a list (a Jinja template rendered without native types).

    :param value: the argument's value, after templating.
    :param parameter: the argument's name, for messages.
    :param allow_empty: accept an empty list (a run-time value: an upload that sent nothing), which
        gives no ids; a literal empty list in a DAG file is refused.
    :param id_field: the field of an uploading object that holds its id: ``uploading_id`` for
        simplified orders, ``id`` for the management API's uploads.
    :raises MetrikaInvalidArgumentError: when nothing usable is given.
    """
    if allow_empty and (value is None or (isinstance(value, str) and not value.strip())):
        return UploadingTargets((), None)
    items = _as_items(value, parameter)
    ids: list[str] = []
    stamps: dict[str, str | None] = {}
    for index, item in enumerate(items):
        uploading_id, stamp = _read_item(item, f"{parameter}[{index}]", id_field)
        if uploading_id not in stamps:
            ids.append(uploading_id)
            stamps[uploading_id] = stamp
        elif stamps[uploading_id] is None:
            stamps[uploading_id] = stamp
    if not ids and not allow_empty:
        raise MetrikaInvalidArgumentError(
            f"{parameter} is empty: give at least one uploading id, or the upload task's output "
            "(an XComArg), which may be empty on a day with nothing to send"
        )
    known = [stamps[i] for i in ids]
    not_before = None if None in known or not known else min(s for s in known if s is not None)
    return UploadingTargets(tuple(ids), not_before)


def _as_items(value: Any, parameter: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            return _as_items(parse_literal(text, parameter), parameter)
        return [text]
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise MetrikaInvalidArgumentError(
        f"{parameter} must be an uploading id, a list of ids, or the upload's list of uploading objects; "
        f"got {type(value).__name__}"
    )


def _read_item(item: Any, where: str, id_field: str) -> tuple[str, str | None]:
    if isinstance(item, Mapping):
        # Simplified orders name it ``uploading_id``; the management API's uploads ``id`` (int64).
        uploading_id = item.get(id_field)
        if isinstance(uploading_id, int) and not isinstance(uploading_id, bool):
            uploading_id = str(uploading_id)
        if not isinstance(uploading_id, str) or not uploading_id.strip():
            other = "id" if id_field == "uploading_id" else "uploading_id"
            hint = (
                f" (it has {other!r}: an upload of another kind; give the wait its kind, e.g. "
                "kind='offline_conversions')"
                if other in item
                else ""
            )
            raise MetrikaInvalidArgumentError(f"{where} is an object without an {id_field!r}{hint}")
        return uploading_id.strip(), _read_stamp(item.get("datetime", item.get("create_time")))
    if isinstance(item, str) and item.strip():
        return item.strip(), None
    raise MetrikaInvalidArgumentError(
        f"{where} must be a non-empty uploading id or an uploading object; got {item!r}"
    )


def _read_stamp(value: Any) -> str | None:
    # A missing or unreadable datetime only costs a longer search, never a wrong answer.
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return UploadingsSearch.format_datetime(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class StatusReader:
    """
    How one kind of upload says where it stands: its status field, and which values end a wait.

    :param field: the status field of an uploading object.
    :param done: statuses after which nothing more happens and the upload counts.
    :param failed: statuses that mean Metrika refused the upload.
    :param errors_field: the field listing what Metrika found wrong, if the kind has one.
    :param verb: what Metrika does while the upload is pending, for messages (``validated``).
    """

    field: str
    done: frozenset[str]
    failed: frozenset[str]
    errors_field: str | None = None
    verb: str = "validated"

    def status(self, uploading: Mapping[str, Any] | None) -> str | None:
        """Return an uploading's status upper-cased, or None when it is not listed."""
        if uploading is None:
            return None
        return str(uploading.get(self.field) or "").strip().upper() or "UNKNOWN"

    def errors(self, uploading: Mapping[str, Any]) -> list[str]:
        """Return what Metrika found wrong with an uploading (empty when it says nothing)."""
        errors = uploading.get(self.errors_field) if self.errors_field else None
        return [str(error) for error in errors] if isinstance(errors, list) else []


#: Simplified orders: ``last_uploadings``' ``api_validation_status``.
SIMPLE_ORDERS_STATUS: Final = StatusReader(
    "api_validation_status",
    frozenset({UPLOADING_PASSED}),
    frozenset({UPLOADING_FAILED}),
    errors_field="api_validation_errors",
)


def validation_status(uploading: Mapping[str, Any] | None) -> str | None:
    """Return an uploading's ``api_validation_status`` upper-cased, or None when it is not listed."""
    return SIMPLE_ORDERS_STATUS.status(uploading)


class UploadingsWait:
    """
    What is known, poll after poll, about uploadings being waited on.

    An uploading is over once listed with one of the reader's done or failed statuses (for
    simplified orders PASSED or FAILED); not listed yet, or listed with any other status, it is
    pending. Feed each search's result to :meth:`update`; search for :attr:`pending` only, back to
    :meth:`not_before`.

    :param counter_id: the counter the uploadings belong to (for messages).
    :param uploading_ids: the ids waited on.
    :param not_before: the oldest ``datetime`` among them, when known (see :class:`UploadingTargets`).
    :param reader: what the kind's statuses mean.
    """

    def __init__(
        self,
        counter_id: int,
        uploading_ids: Iterable[str],
        not_before: str | None = None,
        reader: StatusReader = SIMPLE_ORDERS_STATUS,
    ) -> None:
        self.counter_id = counter_id
        self.ids = tuple(dict.fromkeys(str(i) for i in uploading_ids))
        self.initial_not_before = not_before
        self.reader = reader
        self.seen: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_targets(
        cls, counter_id: int, targets: UploadingTargets, reader: StatusReader = SIMPLE_ORDERS_STATUS
    ) -> UploadingsWait:
        """Start waiting on the uploadings read by :func:`read_uploading_targets`."""
        return cls(counter_id, targets.ids, targets.not_before, reader)

    def update(self, found: Mapping[str, dict[str, Any]]) -> None:
        """
        Record what one search found.

        :param found: uploadings by id, as ``MetrikaHook.find_uploadings`` returns them.
        """
        for uploading_id in self.ids:
            if uploading_id in found:
                self.seen[uploading_id] = found[uploading_id]

    def status(self, uploading_id: str) -> str | None:
        """Return the last status seen for an id, or None when it was never listed."""
        return self.reader.status(self.seen.get(uploading_id))

    @property
    def passed(self) -> list[str]:
        """Ids listed with a done status (PASSED)."""
        return [i for i in self.ids if self.status(i) in self.reader.done]

    @property
    def failed(self) -> list[str]:
        """Ids listed with a failed status (FAILED)."""
        return [i for i in self.ids if self.status(i) in self.reader.failed]

    @property
    def pending(self) -> list[str]:
        """Ids not listed yet, or listed with a status that is neither done nor failed."""
        over = self.reader.done | self.reader.failed
        return [i for i in self.ids if self.status(i) not in over]

    @property
    def uploadings(self) -> dict[str, dict[str, Any]]:
        """The last uploading object seen for each listed id, in the order of the ids."""
        return {i: self.seen[i] for i in self.ids if i in self.seen}

    def not_before(self) -> str | None:
        """
        Return how far back the next search must page for the pending ids.

        An id seen once keeps its ``datetime``, so once every pending id has been listed the
        search stops at the oldest of them, even when the ids came without datetimes.
        """
        stamps = [_read_stamp(self.seen[i].get("datetime")) if i in self.seen else None for i in self.pending]
        if stamps and None not in stamps:
            return min(s for s in stamps if s is not None)
        return self.initial_not_before

    def describe_pending(self) -> str:
        """Name each pending id with the last status seen, e.g. ``abc (last status IN_PROGRESS)``."""
        parts = []
        for uploading_id in self.pending:
            status = self.status(uploading_id)
            parts.append(f"{uploading_id} ({NOT_LISTED if status is None else f'last status {status}'})")
        return _some(parts)

    def success_message(self) -> str:
        """Say that every uploading passed (or that there was nothing to wait for)."""
        if not self.ids:
            return NOTHING_TO_WAIT_FOR
        statuses = "/".join(sorted({self.status(i) or "" for i in self.ids}))
        return (
            f"Metrika {self.reader.verb} {_count(self.ids, 'uploading')} on counter {self.counter_id}: "
            f"all {statuses} ({_some(self.ids)})."
        )

    def failure_message(self) -> str:
        """Name the FAILED uploadings with Metrika's ``api_validation_errors``."""
        failed = self.failed
        details = "; ".join(f"{i}: {self._errors_text(i)}" for i in failed[:_MAX_IDS_SHOWN])
        statuses = "/".join(sorted(self.reader.failed))
        if len(failed) > _MAX_IDS_SHOWN:
            details += f"; and {len(failed) - _MAX_IDS_SHOWN} more {statuses}"
        return (
            f"Metrika rejected {len(failed)} of {_count(self.ids, 'uploading')} on counter "
            f"{self.counter_id} ({statuses}: nothing from such a file was loaded). {details}"
        )

    def _errors_text(self, uploading_id: str) -> str:
        errors = self.reader.errors(self.seen[uploading_id])
        if not errors:
            return f"Metrika gave no {self.reader.errors_field or 'details'}"
        shown = [e[:_MAX_ERROR_CHARS] for e in errors[:_MAX_ERRORS_SHOWN]]
        more = len(errors) - len(shown)
        return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")

    def timeout_message(self, limit: str, last_error: str | None = None) -> str:
        """
        Name the pending ids and the last status seen of each.

        :param limit: how the time ran out, e.g. ``within 600 s`` or ``by 2026-01-01T10:00:00Z``.
        :param last_error: why the last poll failed, when it did.
        """
        message = (
            f"Metrika had not {self.reader.verb} {len(self.pending)} of {_count(self.ids, 'uploading')} on "
            f"counter {self.counter_id} {limit}; still pending: {self.describe_pending()}."
        )
        if last_error:
            message += f" The last poll failed: {last_error}."
        return message

    def event(self, status: str, message: str) -> dict[str, Any]:
        """
        Build the payload of the trigger's terminal event.

        :param status: one of :data:`EVENT_STATUSES`.
        :param message: what happened, free of secrets.
        """
        return {"status": status, "message": message, "uploadings": self.uploadings, "pending": self.pending}


def _count(ids: tuple[str, ...], noun: str) -> str:
    return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'}"


def _some(items: Iterable[str]) -> str:
    listed = list(items)
    shown = ", ".join(listed[:_MAX_IDS_SHOWN])
    more = len(listed) - _MAX_IDS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def result_from_event(
    event: Any,
    *,
    timeout_error: type[MetrikaUploadingTimeoutError] = MetrikaUploadingTimeoutError,
) -> dict[str, dict[str, Any]]:
    """
    Return the uploadings of a success event from :class:`MetrikaUploadingTrigger`, or raise.

    :param event: the event payload handed to ``execute_complete``.
    :param timeout_error: the class raised on a timeout event (a sensor raises a subclass that is
        also an ``AirflowSensorTimeout``, so Airflow does not retry it).
    :return: the uploadings by id, all PASSED.
    :raises MetrikaUploadingFailedError: on a ``failed`` event.
    :raises MetrikaUploadingTimeoutError: (``timeout_error``) on a ``timeout`` event.
    :raises MetrikaError: on an ``error`` event, or an event that is not one of ours.
    """
    if not isinstance(event, Mapping) or event.get("status") not in EVENT_STATUSES:
        raise MetrikaError(f"Unexpected event from the uploading trigger: {str(event)[:300]}")
    status = event["status"]
    message = str(event.get("message") or f"the uploading trigger reported {status}")
    if status == EVENT_FAILED:
        raise MetrikaUploadingFailedError(message)
    if status == EVENT_TIMEOUT:
        raise timeout_error(message)
    if status == EVENT_ERROR:
        raise MetrikaError(f"Waiting for Metrika's validation failed: {message}")
    uploadings = event.get("uploadings")
    if not isinstance(uploadings, Mapping) or event.get("pending"):
        raise MetrikaError(f"Malformed success event from the uploading trigger: {str(event)[:300]}")
    return dict(uploadings)
