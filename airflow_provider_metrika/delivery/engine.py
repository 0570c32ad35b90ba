"""
The delivery engine: send the parts of one upload so that each reaches Metrika exactly once.

Every part has a key (:func:`~.journal.part_key`: destination, owner, place, bytes). Before its
POST the engine writes ``sending`` (with a file name unique to that POST), after the answer
``accepted``; on any later attempt it resolves what the journal holds before sending anything:

- ``accepted``: not sent again;
- ``sending`` (an answer that never came back): the uploading titled with that exact name is
  adopted when listed; otherwise the part is sent again only when that is harmless (the endpoint
  says so: for simplified orders, ``SAVE`` / ``UPDATE`` and an ``id`` on every row) or when the
  caller forces it for sends of *earlier* attempts (``force_resend``); else it stops with
  :class:`~airflow_provider_metrika.exceptions.MetrikaUploadUncertainError`, never retried.

What a failed request means comes from one table (:mod:`.failures`). The engine knows nothing of
the file format or of HTTP: an :class:`UploadEndpoint` sends one part and finds one by title.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from airflow_provider_metrika.delivery.journal import (
    ACCEPTED,
    REJECTED,
    DeliveryJournal,
    UploadJournal,
    UploadRecord,
    part_key,
    unique_upload_name,
)
from airflow_provider_metrika.delivery.manifest import (
    MANIFEST_DOCUMENT,
    Manifest,
    PlannedPart,
    describe_parts,
)
from airflow_provider_metrika.exceptions import (
    MetrikaApiError,
    MetrikaConnectionError,
    MetrikaError,
    MetrikaSourceChangedError,
    MetrikaUploadingFailedError,
    MetrikaUploadUncertainError,
)
from airflow_provider_metrika.hooks.failures import Failure, classify, describe_failure

#: How far Metrika's clock may lag ours when looking for an upload after a lost answer.
UPLOAD_CLOCK_SKEW = timedelta(minutes=2)
#: Seconds between two looks for a lost upload while waiting for it to be listed.
LOST_ANSWER_POLL = 5.0
#: How the resolve command is named in messages.
RESOLVE_COMMAND = "python -m airflow_provider_metrika.delivery"

#: Yields what the endpoint sends for a part: a local file, or a re-readable stream.
PartOpener = Callable[[PlannedPart], AbstractContextManager[Any]]


class UploadEndpoint(Protocol):
    """One kind of Metrika upload, as the engine needs it."""

    #: Where uploads go and how they are applied, as one string (part of every part key).
    destination_key: str
    #: The counter the uploads go to.
    counter_id: int
    #: What a row of the file is, for messages (``orders``).
    row_noun: str
    #: Why a second copy of a part may not be harmless, for messages (the kind's own rule).
    resend_harm: str
    #: Where a user finds the destination's uploads, for messages.
    where_listed: str
    #: How a user makes a re-send harmless, for messages.
    resend_fix: str

    def file_name(self, part: PlannedPart) -> str:
        """Return the stem of the file names a part is sent under (each POST adds a unique tag)."""

    def describe(self) -> str:
        """Name the destination for messages, e.g. ``counter 12345``."""

    def request_name(self) -> str:
        """Name the request for retry log lines, e.g. ``POST cdp/api/v1/counter/12345/data/simple_orders``."""

    def post(self, file: Any, name: str) -> dict[str, Any]:
        """Send one part under ``name`` (one request); return the upload's status object."""

    def find_titled(self, name: str, since: datetime) -> dict[str, Any] | None:
        """Return the upload listed under exactly ``name`` since ``since``, or None (one search)."""

    def resend_is_harmless(self, part: PlannedPart) -> bool:
        """Tell whether applying this part twice leaves what Metrika holds unchanged."""

    def replaces_what_it_changes(self, part: PlannedPart) -> bool:
        """Tell whether a part cut from a changed source replaces what an earlier copy stored.

        True for simplified orders with ids in SAVE / UPDATE (an order id is the key); false where a
        changed row would be stored beside the earlier one (a conversion with another time, a call).
        """

    def failed(self, uploading: dict[str, Any]) -> bool:
        """Tell whether the answer to a POST already says the upload was rejected."""

    def uploading_id(self, uploading: dict[str, Any]) -> str:
        """Return the upload's id."""

    def status(self, uploading: dict[str, Any]) -> str:
        """Return the upload's status as Metrika names it."""

    def errors(self, uploading: dict[str, Any]) -> list[str]:
        """Return what Metrika says is wrong with a rejected upload."""

    def legacy_key(self, part: PlannedPart) -> str | None:
        """Return the key older versions gave this part's records, if they had one."""


class _ResendableLostAnswer(MetrikaError):
    """A part's answer was lost, it is not listed, and sending it again is harmless."""

    def __init__(self, message: str, failure: BaseException) -> None:
        super().__init__(message)
        self.failure = failure


class DeliveryEngine:
    """
    Deliver parts to one endpoint, with records in one journal.

    :param endpoint: the upload kind and destination.
    :param journal: where the records (and, for :meth:`plan`, the manifest) are kept.
    :param owner: who sends: a task instance's identity, or a caller's name (part of every key).
    :param attempt: this attempt's name (a task try); records of other names are "earlier".
    :param retry: builds the retry loop of one POST (``RetryPolicy.retrying``).
    :param log: where decisions are logged.
    :param lost_answer_wait: seconds to keep looking for a lost upload that cannot be re-sent.
    :param force_resend: send again a part whose *earlier* send is unresolved, even when that is
        not harmless (never a send of this attempt).
    :param force_hint: how messages tell a user to set ``force_resend`` for one run.
    :param resolve_hint: how messages tell a user to give up on an upload after checking Metrika.
    :param stage_hint: how messages tell a user to keep a copy of each attempt's parts (``stage``).
    """

    def __init__(
        self,
        endpoint: UploadEndpoint,
        journal: UploadJournal,
        *,
        owner: str,
        attempt: str | None = None,
        retry: Callable[[Callable[[BaseException], bool], Any, str], Any],
        log: logging.Logger | Any,
        lost_answer_wait: float = 60.0,
        force_resend: bool = False,
        force_hint: str = "pass force_resend=True to one more call",
        resolve_hint: str | None = None,
        stage_hint: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.journal = journal
        self.owner = owner
        self.attempt = attempt or f"call-{secrets.token_hex(4)}"
        self._retry = retry
        self.log = log
        self.lost_answer_wait = lost_answer_wait
        self.force_resend = force_resend
        self.force_hint = force_hint
        self.resolve_hint = resolve_hint
        self.stage_hint = stage_hint
        self._legacy = True

    @classmethod
    def through(
        cls, hook: Any, endpoint: UploadEndpoint, journal: UploadJournal, *, owner: str, **kwargs: Any
    ) -> DeliveryEngine:
        """
        Return an engine that sends through a hook: with its retry policy, log and lost-answer wait.

        :param hook: a :class:`~airflow_provider_metrika.hooks.metrika.MetrikaHook`.
        :param endpoint: the upload kind and destination.
        :param journal: where the records are kept.
        :param owner: who sends (part of every part key).
        :param kwargs: more :class:`DeliveryEngine` arguments.
        """
        return cls(
            endpoint,
            journal,
            owner=owner,
            retry=hook.retry_policy.retrying,
            log=hook.log,
            lost_answer_wait=hook.lost_answer_wait,
            **kwargs,
        )

    # -- the plan ----------------------------------------------------------------------------------

    def plan(
        self,
        parts: Sequence[PlannedPart],
        stage: Callable[[Sequence[PlannedPart]], Sequence[PlannedPart]] | None = None,
        *,
        fresh: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Manifest:
        """
        Return the plan to send: the first attempt's when the journal has one, else ``parts``.

        A later attempt whose source gives other bytes plans from the current source when nothing
        was stored yet (looked up under the first plan's destination), or when the destination is the
        same and every part stored and every part planned replaces what it changes;
        the first attempt's staged parts only when sending the current source is not harmless and
        Metrika refused none of the first plan's parts (refused bytes are never replayed: a changed
        source is their fix); otherwise it stops here, before sending, with
        :class:`MetrikaSourceChangedError`.

        :param parts: this attempt's parts, from its source.
        :param stage: keeps a copy of parts for later attempts and returns them with its location;
            called only when this attempt's parts become the plan.
        :param fresh: plan this attempt's parts whatever an earlier attempt planned (a kind whose
            every attempt repeats a whole replace, after settling the earlier attempts itself).
        :param extra: what the kind keeps with the plan for later attempts (JSON-serialisable).
        """
        journal = self._documents()
        current = Manifest(self.endpoint.destination_key, tuple(parts), self.attempt, dict(extra or {}))
        earlier = Manifest.from_json(journal.read_document(MANIFEST_DOCUMENT))
        self._legacy = earlier is None
        if earlier is None or fresh:
            return self._adopt_plan(journal, current, stage)
        fresh_plan = current
        changes = earlier.differences(fresh_plan)
        if not changes:
            return earlier
        # The earlier plan's records are under the earlier plan's destination, whatever this one's is.
        refused = [part for part in earlier.parts if self._refused(part, earlier.destination)]
        sent = [
            part
            for part in earlier.parts
            if self._record(part, earlier.destination) is not None and part not in refused
        ]
        moved = earlier.destination != fresh_plan.destination
        if not sent:
            self.log.info(
                "The source changed since the first attempt (%s); nothing was stored yet, so this "
                "attempt's parts are sent",
                "; ".join(changes),
            )
        elif not moved and all(self.endpoint.replaces_what_it_changes(p) for p in (*sent, *fresh_plan.parts)):
            self.log.warning(
                "The source changed since the first attempt (%s); every part is harmless to send "
                "again, so the current source is sent",
                "; ".join(changes),
            )
        elif earlier.staged and earlier.destination == fresh_plan.destination and not refused:
            self.log.warning(
                "The source changed since the first attempt (%s): sending the first attempt's staged "
                "parts, so every %s is sent once; the source's changes go with the next run",
                "; ".join(changes),
                self.endpoint.row_noun.rstrip("s"),
            )
            return earlier
        else:
            raise MetrikaSourceChangedError(self._changed_message(earlier, sent, refused, changes))
        return self._adopt_plan(journal, fresh_plan, stage)

    def _refused(self, part: PlannedPart, destination: str | None = None) -> bool:
        """Tell whether Metrika refused the part's bytes (a verdict, or a FAILED validation)."""
        record = self._record(part, destination)
        if record is None:
            return False
        return record.state == REJECTED or (
            record.uploading is not None and self.endpoint.failed(record.uploading)
        )

    def _adopt_plan(
        self,
        journal: DeliveryJournal,
        fresh: Manifest,
        stage: Callable[[Sequence[PlannedPart]], Sequence[PlannedPart]] | None,
    ) -> Manifest:
        """Stage this attempt's parts (when asked), then record them as the plan, before any send."""
        if stage is not None:
            fresh = Manifest(fresh.destination, tuple(stage(fresh.parts)), fresh.attempt, fresh.extra)
        journal.write_document(MANIFEST_DOCUMENT, fresh.to_json())
        return fresh

    def deliver(
        self,
        manifest: Manifest,
        open_part: PartOpener,
        after_part: Callable[[PlannedPart, dict[str, Any]], Any] | None = None,
    ) -> list[dict[str, Any]]:
        """
        Send every part of the plan not accepted yet, in order; return their uploads.

        :param manifest: the plan (from :meth:`plan`).
        :param open_part: yields a local file of a part's bytes (this attempt's, or the staged copy).
        :param after_part: called with each part and its upload before the next part goes (sent now
            or accepted earlier), e.g. to wait until Metrika has processed a delete.
        :raises MetrikaUploadingFailedError: when Metrika's answer says a part was rejected.
        """
        uploads: list[dict[str, Any]] = []
        total = len(manifest.parts)
        for part in manifest.parts:
            rows = f"{part.rows or 0:,} {self.endpoint.row_noun}"
            label = f"part {part.position} of {total} ({rows}, {part.bytes:,} bytes)"
            uploading = self.send(part, open_part, label)
            self.log.info(
                "%s: uploading %s, status %s",
                label,
                self.endpoint.uploading_id(uploading),
                self.endpoint.status(uploading),
            )
            if self.endpoint.failed(uploading):
                raise MetrikaUploadingFailedError(self._failed_message(label, uploading, uploads))
            uploads.append(uploading)
            if after_part is not None:
                after_part(part, uploading)
        return uploads

    # -- one part ----------------------------------------------------------------------------------

    def send(self, part: PlannedPart, open_part: PartOpener, label: str | None = None) -> dict[str, Any]:
        """
        Send one part unless the journal says it was accepted; resolve an open send first.

        :param part: the part.
        :param open_part: yields a local file of its bytes.
        :param label: how the log names it.
        """
        label = label or f"part {part.position}"
        key = self._key(part)
        earlier = self._resolve(key, part, label)
        if earlier is not None:
            return earlier
        self.log.info("Sending %s to %s", label, self.endpoint.describe())
        try:
            for attempt in self._retry(_may_send_again, self.log, self.endpoint.request_name()):
                with attempt:
                    return self._post(key, part, open_part, label)
        except _ResendableLostAnswer as exc:
            # Out of retries: the caller sees Metrika's own failure, typed.
            raise exc.failure from None
        raise AssertionError("unreachable: the retry loop re-raises the last failure")

    def _key(self, part: PlannedPart, destination: str | None = None) -> str:
        return part_key(destination or self.endpoint.destination_key, self.owner, part.position, part.sha256)

    def _record(self, part: PlannedPart, destination: str | None = None) -> UploadRecord | None:
        record = self.journal.read(self._key(part, destination))
        if record is None and self._legacy:
            legacy = self.endpoint.legacy_key(part)
            record = self.journal.read(legacy) if legacy else None
        return record

    def _resolve(self, key: str, part: PlannedPart, label: str) -> dict[str, Any] | None:
        """Return the upload of an earlier send of this part, or None when it must be sent."""
        record = self._record(part)
        if record is None or record.state == REJECTED:
            return None
        if record.state == ACCEPTED and record.uploading is not None:
            self.log.info(
                "%s: accepted in an earlier try as uploading %s (sent as %s); not sent again",
                label,
                self.endpoint.uploading_id(record.uploading),
                record.name,
            )
            self.journal.write(key, record)
            return record.uploading
        harmless = self.endpoint.resend_is_harmless(part)
        found = self._adopt(key, record, label, "an earlier try recorded no answer", wait=not harmless)
        if found is not None:
            return found
        if harmless:
            self.log.warning(
                "%s: an earlier try sent it as %s at %s and no uploading with that name is listed; "
                "sending it again is harmless",
                label,
                record.name,
                record.sent_at,
            )
            return None
        if self.force_resend and record.attempt != self.attempt:
            self.log.warning(
                "%s: an earlier try sent it as %s at %s and no uploading with that name is listed; "
                "sending it again because force_resend is set for this run",
                label,
                record.name,
                record.sent_at,
            )
            return None
        raise MetrikaUploadUncertainError(
            self._uncertain_message(label, record, "an earlier try lost its answer")
        )

    def _post(self, key: str, part: PlannedPart, open_part: PartOpener, label: str) -> dict[str, Any]:
        name = unique_upload_name(self.endpoint.file_name(part), key)
        record = UploadRecord.sending(name, part.rows, self.endpoint.counter_id, self.attempt)
        self.journal.write(key, record)
        try:
            with open_part(part) as path:
                uploading = self.endpoint.post(path, record.name)
        except (MetrikaConnectionError, MetrikaApiError) as exc:
            failure = classify(exc)
            if failure is Failure.REJECTED:
                # Metrika's verdict on these bytes: nothing stored, and a retry must not replay them.
                self.journal.write(key, record.rejected())
                raise
            if failure is Failure.REFUSED:
                self.journal.delete(key)  # nothing stored: sent again after a backoff
                raise
            lost: BaseException = exc
        else:
            self.journal.write(key, record.accepted(uploading))
            return uploading
        harmless = self.endpoint.resend_is_harmless(part)
        described = describe_failure(lost)
        found = self._adopt(key, record, label, f"its answer was lost ({described})", wait=not harmless)
        if found is not None:
            return found
        if harmless:
            raise _ResendableLostAnswer(
                f"{record.name}: the answer was lost ({described}) and no uploading is listed under "
                "its name; sending it again is harmless",
                lost,
            )
        raise MetrikaUploadUncertainError(
            self._uncertain_message(label, record, f"no answer came back ({described})")
        )

    def _adopt(
        self, key: str, record: UploadRecord, label: str, lost: str, *, wait: bool
    ) -> dict[str, Any] | None:
        """Return the upload listed under the record's unique name, recorded as accepted; or None."""
        since = record.sent_at_datetime - UPLOAD_CLOCK_SKEW
        deadline = time.monotonic() + (self.lost_answer_wait if wait else 0.0)
        while True:
            found = self.endpoint.find_titled(record.name, since)
            if found is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(LOST_ANSWER_POLL, max(0.0, deadline - time.monotonic())))
        if found is None:
            return None
        self.log.warning(
            "%s, sent as %s at %s: %s, but Metrika lists it as uploading %s: not sending it again",
            label,
            record.name,
            record.sent_at,
            lost,
            self.endpoint.uploading_id(found),
        )
        self.journal.write(key, record.accepted(found))
        return found

    # -- messages ----------------------------------------------------------------------------------

    def _documents(self) -> DeliveryJournal:
        journal = self.journal
        if not all(hasattr(journal, name) for name in ("read_document", "write_document")):
            raise TypeError("a multi-part delivery needs a journal that keeps documents (DeliveryJournal)")
        return journal  # type: ignore[return-value]

    def _uncertain_message(self, label: str, record: UploadRecord, what: str) -> str:
        noun = self.endpoint.row_noun
        rows = f"{record.rows:,} {noun}" if record.rows is not None else f"its {noun}"
        resolve = self.resolve_hint or "forget the journal's records of it"
        return (
            f"{label} was sent to {self.endpoint.describe()} as {record.name!r} at {record.sent_at} UTC, "
            f"but {what} and no uploading with that name is listed, so Metrika may or may not have stored "
            f"it: up to {rows} may be stored once already. It was not sent again, and the task is not "
            f"retried: {self.endpoint.resend_harm}. Check the counter's uploadings for {record.name!r} "
            f"({self.endpoint.where_listed}). If it is there: {resolve}. If it is not: send it again once, "
            f"on purpose: {self.force_hint}."
        )

    def _changed_message(
        self, earlier: Manifest, sent: list[PlannedPart], refused: list[PlannedPart], changes: list[str]
    ) -> str:
        records = [self._record(p, earlier.destination) for p in sent]
        named = ", ".join(
            f"part {p.position} ({r.state}: {r.name})"
            for p, r in zip(sent, records, strict=True)
            if r is not None
        )
        resolve = self.resolve_hint or "forget the journal's records"
        staged = (
            f" The first attempt's staged parts are not sent either: Metrika refused part(s) "
            f"{describe_parts(refused)} of them, and refused bytes are never sent again."
            if refused and earlier.staged
            else ""
        )
        archive = (
            f"or {self.stage_hint} so that retries send the first attempt's staged bytes whatever the "
            "source does; "
            if self.stage_hint and not earlier.staged
            else ""
        )
        return (
            f"Nothing was sent: the source changed since the first attempt of this upload to "
            f"{self.endpoint.describe()} ({'; '.join(changes)}), and part(s) {describe_parts(sent)} of the "
            f"first attempt's {len(earlier.parts)} were already sent ({named}). Sending parts cut from the "
            f"changed source would apply some of those rows twice ({self.endpoint.resend_harm})."
            f"{staged} To proceed: restore the source as the first attempt read it and retry; "
            f"{archive}or {self.endpoint.resend_fix}. To give up on this upload after checking the "
            f"counter: {resolve}."
        )

    def _failed_message(self, label: str, uploading: dict[str, Any], accepted: list[dict[str, Any]]) -> str:
        errors = self.endpoint.errors(uploading) or ["(Metrika gave no details)"]
        lines = [
            f"Metrika rejected {label}: upload {self.endpoint.uploading_id(uploading)} is "
            f"{self.endpoint.status(uploading)}; "
            "nothing from it was loaded."
        ]
        lines += [f"  {error}" for error in errors[:20]]
        if len(errors) > 20:
            lines.append(f"  ... and {len(errors) - 20} more")
        if accepted:
            ids = ", ".join(self.endpoint.uploading_id(u) for u in accepted)
            lines.append(f"Parts before it were accepted and are not sent again on retry: {ids}")
        return "\n".join(lines)


def _may_send_again(exc: BaseException) -> bool:
    return isinstance(exc, _ResendableLostAnswer) or (
        isinstance(exc, (MetrikaApiError, MetrikaConnectionError)) and classify(exc) is Failure.REFUSED
    )


def local_parts(paths: Mapping[int, Any]) -> PartOpener:
    """Return an opener of parts already at hand (local files, re-readable streams), by position."""
    from contextlib import contextmanager

    @contextmanager
    def opener(part: PlannedPart) -> Iterator[Any]:
        yield paths[part.position]

    return opener
