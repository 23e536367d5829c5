"""The outbox of ERP postings: written with the state change that caused them, read by the dashboard, replayed
when dead by a signed act.

enqueue() runs inside the caller's unit of work, before its commit: the state change and its posting commit or
roll back together (ERP-02). The bytes, their JSON rendering and their SHA-256 are frozen there; every retry and
every replay sends exactly those bytes under the same key (ERP-03).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.policy import effective_policy
from ebr.app.ports import (
    AuditFilter,
    Clock,
    DeliveryAttempt,
    FrozenPayload,
    NewPosting,
    PostingEncoder,
    PostingStatus,
    StoredPosting,
    StoredSignature,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action, AuditEntry, to_utc_text
from ebr.domain.erp import Posting
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.domain.signatures import SitePolicy

CONTENT_TYPE = "application/xml"
OBJECT_TYPE = "erp_posting"  # the audit trail's name for an outbox row (adapters/db/gmp.py)
REPLAY_OBJECT = "erp_replay"  # what a replay signature signs: one replay request of one posting
REPLAY_MEANING = "replayed"
REPLAY_REQUESTED = "replay_requested"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FunctionEncoder:
    """A PostingEncoder made of three functions (bootstrap hands in the B2MML builder's)."""

    build_xml: Callable[[Posting], bytes]
    build_json: Callable[[Posting], str]
    check_xml: Callable[[bytes], None]

    def xml(self, posting: Posting) -> bytes:
        """The B2MML document."""
        return self.build_xml(posting)

    def json(self, posting: Posting) -> str:
        """The same content as JSON, for people."""
        return self.build_json(posting)

    def validate(self, xml: bytes) -> None:
        """Raise InvalidInput unless the document is schema-valid."""
        self.check_xml(xml)


def enqueue(
    uow: UnitOfWork, posting: Posting, encoder: PostingEncoder, *, batch_pk: int | None, record_hash: str | None
) -> int:
    """Freeze the posting into the outbox of the caller's unit of work; returns its row id (ERP-02, ERP-03, ERP-06).

    The key is the event's: enqueueing the same event again (a double click) returns the row already there when the
    bytes are identical, and is refused with Conflict when they differ, since a posting is never re-posted with a
    new content under its key (ERP-08). The document is validated against the B2MML schema before anything is written.
    """
    if record_hash is not None and not SHA256_HEX.match(record_hash):
        raise InvalidInput("The record hash of a posting is a SHA-256 in lower-case hex.")
    xml = encoder.xml(posting)
    encoder.validate(xml)
    digest = hashlib.sha256(xml).hexdigest()
    existing = uow.outbox.by_key(posting.key)
    if existing is None:
        new_id = uow.outbox.add(
            NewPosting(
                aggregate=posting.batch_id,
                batch_pk=batch_pk,
                kind=str(posting.kind),
                revision=posting.revision,
                key=posting.key,
                content_type=CONTENT_TYPE,
                payload=xml,
                payload_json=encoder.json(posting),
                payload_sha256=digest,
                record_hash=record_hash,
                reverses=posting.reverses,
                created_at=posting.created_at,
            )
        )
        if new_id is not None:
            return new_id
        existing = uow.outbox.by_key(posting.key)  # enqueued concurrently by another transaction
        if existing is None:
            raise Conflict(f"The ERP posting {posting.key} could not be enqueued; try again.")
    if existing.payload_sha256 != digest:
        raise Conflict(
            f"The {posting.kind} posting {posting.revision} of batch {posting.batch_id} was enqueued already with "
            f"other content (key {posting.key}); a correction is a reversal and a new revision, never a re-post."
        )
    return existing.id


@dataclass(frozen=True)
class DashboardRow:
    """A posting as the dashboard lists it; a pending one may wait behind an older posting of its batch."""

    posting: StoredPosting
    waiting_behind: int | None


class OutboxService:
    """What the ERP dashboard shows, and the request that starts a signed replay of a dead posting (ERP-05)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, encoder: PostingEncoder) -> None:
        self._uow = uow
        self._clock = clock
        self.encoder = encoder  # what the use cases that enqueue postings hand to enqueue()

    def _read(self) -> UnitOfWork:
        return self._uow(AuditContext(Actor.system(), self._clock.now()))

    def counts(self) -> dict[PostingStatus, int]:
        """How many postings are pending, sent and dead."""
        with self._read() as uow:
            return uow.outbox.counts()

    def dashboard(self, status: PostingStatus | None = None, limit: int = 200) -> list[DashboardRow]:
        """The newest postings; for a pending one, the older posting of its batch it waits for, if any (ERP-04)."""
        with self._read() as uow:
            rows = uow.outbox.recent(status, limit)
            heads = uow.outbox.unsent_heads({r.aggregate for r in rows if r.status is PostingStatus.PENDING})
        return [DashboardRow(r, _behind(r, heads)) for r in rows]

    def posting(self, message_id: int) -> StoredPosting:
        """One posting."""
        with self._read() as uow:
            return uow.outbox.get(message_id)

    def attempts(self, message_id: int) -> list[DeliveryAttempt]:
        """Every delivery attempt of one posting, oldest first."""
        with self._read() as uow:
            return uow.outbox.attempts(message_id)

    def frozen(self, message_id: int) -> FrozenPayload:
        """The exact bytes the posting sends, for download."""
        with self._read() as uow:
            return uow.outbox.frozen(message_id)

    def for_batch(self, batch_id: str) -> list[StoredPosting]:
        """The postings of one batch, in delivery order."""
        with self._read() as uow:
            return uow.outbox.for_aggregate(batch_id)

    def request_replay(self, actor: Actor, message_id: int, reason: str, request: RequestInfo | None = None) -> str:
        """Record who asks to replay a dead posting and why (what was fixed); returns the id to sign.

        The replay takes effect only when signed (meaning 'replayed' on erp_replay): the posting then goes back to
        pending with the same key and the same bytes.
        """
        why = require_reason(reason)
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, why, request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.ERP_REPLAY)
            effective_policy(uow)  # refuse now rather than leave a request nobody can sign
            posting = uow.outbox.get(message_id)
            if posting.status is not PostingStatus.DEAD:
                raise Conflict(f"ERP posting {message_id} is {posting.status}: only a dead posting is replayed.")
            uow.audit.append(
                Action.STATE_CHANGE,
                OBJECT_TYPE,
                str(message_id),
                field=REPLAY_REQUESTED,
                old=str(PostingStatus.DEAD),
                new=f"key {posting.key}; payload sha256 {posting.payload_sha256}",
            )
            uow.commit()
        with self._read() as uow:
            mine = [e for e in _replay_requests(uow, message_id) if e.draft.username == actor.username]
        return f"{message_id}.{mine[-1].seq}"


def _behind(posting: StoredPosting, heads: Mapping[str, int]) -> int | None:
    """The older posting a pending one waits for, or None when it is its batch's head (or not pending)."""
    if posting.status is not PostingStatus.PENDING:
        return None
    head = heads.get(posting.aggregate)
    return head if head != posting.id else None


def _replay_requests(uow: UnitOfWork, message_id: int) -> list[AuditEntry]:
    entries = uow.audit.query(AuditFilter(object_type=OBJECT_TYPE, object_id=str(message_id)))
    return [e for e in entries if e.draft.field == REPLAY_REQUESTED]


def _last_death(uow: UnitOfWork, message_id: int) -> int:
    entries = uow.audit.query(AuditFilter(object_type=OBJECT_TYPE, object_id=str(message_id)))
    deaths = [e.seq for e in entries if e.draft.field == "status" and e.draft.new_value == PostingStatus.DEAD]
    return deaths[-1] if deaths else 0


def _parse(object_id: str) -> tuple[int, int]:
    message, _, seq = object_id.partition(".")
    if not (message.isdigit() and seq.isdigit()) or len(object_id) > 24:
        raise NotFound(f"No ERP replay request {object_id[:24]!r}.")
    return int(message), int(seq)


def _request(uow: UnitOfWork, object_id: str) -> tuple[StoredPosting, AuditEntry]:
    message_id, seq = _parse(object_id)
    posting = uow.outbox.get(message_id)
    for entry in _replay_requests(uow, message_id):
        if entry.seq == seq:
            return posting, entry
    raise NotFound(f"No ERP replay request {object_id!r}.")


class ReplaySignable:
    """A replay request of a dead posting; its signature puts the posting back to pending (ERP-05, 21 CFR 11.50).

    The signed content is the request (who asked, when, why) and the posting's frozen key and payload hash: none of it
    ever changes, so the signature verifies for ever, while the posting's status moves on.
    """

    object_type = REPLAY_OBJECT

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        posting, request = _request(uow, object_id)
        return {
            "object": REPLAY_OBJECT,
            "posting": posting.id,
            "batch": posting.aggregate,
            "kind": posting.kind,
            "revision": posting.revision,
            "key": posting.key,
            "payload_sha256": posting.payload_sha256,
            "reason": request.draft.reason,
            "requested_by": request.draft.username,
            "requested_at": to_utc_text(request.draft.at),
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        posting, request = _request(uow, object_id)
        return f"replay of ERP posting {posting.key}: {request.draft.reason}"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        posting, request = _request(uow, object_id)
        if signature.meaning != REPLAY_MEANING:
            raise Conflict(f"A replay is applied by a {REPLAY_MEANING!r} signature only.")
        posting = uow.outbox.lock(posting.id)
        if posting.status is not PostingStatus.DEAD:
            raise Conflict(f"ERP posting {posting.id} is {posting.status} already: nothing to replay.")
        if request.seq < _last_death(uow, posting.id):
            raise Conflict("This replay request predates the posting's last failure: request the replay again.")
        uow.outbox.requeue(posting.id, ctx.at)
        uow.audit.append(
            Action.STATE_CHANGE,
            OBJECT_TYPE,
            str(posting.id),
            field="status",
            old=str(PostingStatus.DEAD),
            new=str(PostingStatus.PENDING),
            reason=(
                f"replayed under signature {signature.id}: same key {posting.key}, same payload sha256 "
                f"{posting.payload_sha256}; {request.draft.reason}"
            ),
        )
