"""QA review by exception (21 CFR 211.192; QA-03, AUD-09): the queue, submitting a completed batch for review,
the review page's data, acknowledging each exception, and the signed 'audit trail reviewed'.

Release and rejection, and addenda after them, are in ebr.app.release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import ProcedureCache
from ebr.app.paging import PAGE_SIZE, Page, offset_of
from ebr.app.policy import effective_policy
from ebr.app.ports import Clock, StoredBatch, StoredSignature, UnitOfWork, UnitOfWorkFactory
from ebr.app.ports.review import (
    Addendum,
    BatchDecision,
    ReleaseCandidateCheck,
    ReviewMark,
    SignatureRef,
    TrailReview,
)
from ebr.app.review_evidence import REVIEWED, Evidence, gather, release_blockers
from ebr.domain.accounts import Permission
from ebr.domain.audit import AuditEntry
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition
from ebr.domain.review import ReviewException, check_independent
from ebr.domain.signatures import SitePolicy

QUEUE_DECIDED = 20  # released or rejected batches the queue still shows, newest first


def check_in_review(batch: StoredBatch, what: str) -> None:
    """Review acts happen only while the batch is in review; after release or rejection the record is closed."""
    if batch.batch.status is not BatchStatus.IN_REVIEW:
        raise InvalidTransition(f"Batch {batch.batch.id} is {batch.batch.status}: {what} only while it is in review.")


@dataclass(frozen=True)
class ExceptionLine:
    """An exception with every acknowledgement of it (the latest counts) and its audit entries."""

    exception: ReviewException
    marks: list[ReviewMark]
    entries: list[AuditEntry]

    @property
    def mark(self) -> ReviewMark | None:
        """The acknowledgement in force."""
        return self.marks[-1] if self.marks else None


@dataclass(frozen=True)
class Signed:
    """A review, decision or addendum with the signatures on it."""

    signatures: list[SignatureRef]

    @property
    def signed(self) -> bool:
        """Whether its signature was given."""
        return bool(self.signatures)


@dataclass(frozen=True)
class TrailReviewLine(Signed):
    """An audit-trail review; current while the batch's trail still ends where it did."""

    review: TrailReview
    current: bool


@dataclass(frozen=True)
class DecisionLine(Signed):
    """A release or rejection request; signed, it was applied."""

    decision: BatchDecision


@dataclass(frozen=True)
class AddendumLine(Signed):
    """An addendum; in force once signed."""

    addendum: Addendum


@dataclass(frozen=True)
class ReviewView:
    """What the review page shows, exceptions first (QA-03); the full record is the batch page."""

    batch: StoredBatch
    procedure_id: str
    step_names: dict[int, str]
    exceptions: list[ExceptionLine]
    blockers: list[str]
    trail: list[AuditEntry]
    trail_reviews: list[TrailReviewLine] = field(default_factory=list)
    decisions: list[DecisionLine] = field(default_factory=list)
    addenda: list[AddendumLine] = field(default_factory=list)

    @property
    def unacknowledged(self) -> list[ExceptionLine]:
        """Exceptions nobody acknowledged yet."""
        return [line for line in self.exceptions if line.mark is None]


@dataclass(frozen=True)
class ReviewQueue:
    """Batches waiting for QA, and those decided most recently."""

    completed: Page[StoredBatch]
    in_review: Page[StoredBatch]
    decided: list[StoredBatch]


def _signatures(uow: UnitOfWork, object_type: str, ids: list[int]) -> dict[int, list[SignatureRef]]:
    found: dict[int, list[SignatureRef]] = {pk: [] for pk in ids}
    for sig in uow.reviews.signatures(object_type, {str(pk) for pk in ids}):
        found[int(sig.object_id)].append(sig)
    return found


def _view(uow: UnitOfWork, evidence: Evidence, candidate: str | None) -> ReviewView:
    batch = evidence.batch
    marks = uow.reviews.marks(batch.id)
    reviews = uow.reviews.trail_reviews(batch.id)
    decisions = uow.decisions.decisions(batch.id)
    addenda = uow.decisions.addenda(batch.id)
    review_sigs = _signatures(uow, "batch_review", [r.id for r in reviews])
    decision_sigs = _signatures(uow, "batch_release", [d.id for d in decisions])
    addendum_sigs = _signatures(uow, "batch_addendum", [a.id for a in addenda])
    return ReviewView(
        batch,
        evidence.procedure.bundle.procedure_id,
        evidence.names,
        [ExceptionLine(e, [m for m in marks if m.key == e.key], evidence.entries_of(e)) for e in evidence.exceptions],
        release_blockers(uow, evidence, marks, candidate),
        evidence.trail,
        [
            TrailReviewLine([s for s in review_sigs[r.id] if s.meaning == REVIEWED], r, evidence.head == r.head)
            for r in reviews
        ],
        [DecisionLine(decision_sigs[d.id], d) for d in decisions],
        [AddendumLine(addendum_sigs[a.id], a) for a in addenda],
    )


def _waiting(uow: UnitOfWork, status: BatchStatus, number: int, size: int) -> Page[StoredBatch]:
    # The submission time is not kept on the batch; batch ids grow with the start, so the oldest started comes first.
    total = uow.batches.count({str(status)})
    start = offset_of(number, total, size)
    return Page(uow.batches.listed({str(status): 0}, start, size, newest_first=False), start // size + 1, size, total)


class ReviewService:
    """QA's use cases of review by exception."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache, candidate: ReleaseCandidateCheck
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._candidate = candidate

    def _ctx(self, actor: Actor, reason: str = "", request: RequestInfo | None = None) -> AuditContext:
        return AuditContext(actor, self._clock.now(), reason, request or RequestInfo())

    def queue(self, completed: int = 1, in_review: int = 1, size: int = PAGE_SIZE) -> ReviewQueue:
        """A page of the completed batches to submit and one of those in review, oldest first (the longest
        waiting on top), and the latest released or rejected ones."""
        with self._uow(self._ctx(Actor.system())) as uow:
            decided = {str(BatchStatus.RELEASED): 0, str(BatchStatus.REJECTED): 0}
            return ReviewQueue(
                _waiting(uow, BatchStatus.COMPLETED, completed, size),
                _waiting(uow, BatchStatus.IN_REVIEW, in_review, size),
                uow.batches.listed(decided, 0, QUEUE_DECIDED, newest_first=True),
            )

    def submit_for_review(
        self, actor: Actor, batch_id: str, reason: str, request: RequestInfo | None = None
    ) -> StoredBatch:
        """Send a completed batch to QA review; a supervisor's or QA's act with its reason, audited."""
        why = require_reason(reason)
        ctx = self._ctx(actor, why, request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_HOLD)
            batch = uow.batches.lock(batch_id)
            moved, _ = batch.batch.submit_for_review(ctx.at, actor.user_id)
            uow.batches.update_batch(moved, batch.batch.version, None)
            uow.commit()
            return uow.batches.get(batch_id)

    def review(self, batch_id: str) -> ReviewView:
        """The batch's exceptions with their acknowledgements, its blockers, trail, decisions and addenda."""
        with self._uow(self._ctx(Actor.system())) as uow:
            batch = uow.batches.get(batch_id)
            evidence = gather(uow, self._cache, batch)
            return _view(uow, evidence, self._candidate.blocker(uow, batch.id))

    def marks(self, batch_id: str, key: str) -> list[ReviewMark]:
        """Every acknowledgement of one exception, oldest first."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return [m for m in uow.reviews.marks(uow.batches.get(batch_id).id) if m.key == key]

    def acknowledge(
        self, actor: Actor, batch_id: str, key: str, comment: str, request: RequestInfo | None = None
    ) -> ReviewMark:
        """Record that the reviewer looked at one exception, with their comment (QA-03); a second mark on the
        same exception is kept too, and the latest counts."""
        text = comment.strip()
        if not text:
            raise InvalidInput("An acknowledgement needs a comment: what was checked, what was concluded.")
        ctx = self._ctx(actor, f"exception {key} acknowledged", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_REVIEW)
            batch = uow.batches.lock(batch_id)
            check_in_review(batch, "exceptions are acknowledged")
            if key not in {e.key for e in gather(uow, self._cache, batch).exceptions}:
                raise InvalidInput(f"Batch {batch_id} has no exception {key!r}: reload the review page.")
            mark = uow.reviews.add_mark(ReviewMark(0, batch.id, key, text, actor.user_id, ctx.at))
            uow.commit()
        return mark

    def open_trail_review(self, actor: Actor, batch_id: str, request: RequestInfo | None = None) -> TrailReview:
        """Fix the batch's audit trail as the reviewer sees it now; signing it 'reviewed' records AUD-09."""
        ctx = self._ctx(actor, "audit trail opened for review", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_REVIEW)
            batch = uow.batches.lock(batch_id)
            check_in_review(batch, "its audit trail is reviewed")
            evidence = gather(uow, self._cache, batch)
            seq, digest = evidence.head
            review = TrailReview(0, batch.id, seq, digest, len(evidence.trail), actor.user_id, ctx.at)
            review = uow.reviews.add_trail_review(review)
            uow.commit()
        return review


class TrailReviewSignable:
    """'Audit trail reviewed' (AUD-09): QA signs the batch's trail up to the entry it was opened at."""

    object_type = "batch_review"

    def __init__(self, cache: ProcedureCache) -> None:
        self._cache = cache

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        """Only what never changes: the batch and the entry the trail ended at when it was opened."""
        review = uow.reviews.trail_review(int(object_id))
        return {
            "object": self.object_type,
            "batch": uow.batches.by_pk(review.batch_id).batch.id,
            "review": review.id,
            "entries": review.entries,
            "head_seq": review.head_seq,
            "head_hash": review.head_hash,
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        review = uow.reviews.trail_review(int(object_id))
        return f"audit trail reviewed up to entry #{review.head_seq}"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        if signature.meaning != REVIEWED:
            raise Conflict(f"An audit-trail review is signed {REVIEWED!r}, not {signature.meaning!r}.")
        review = uow.reviews.trail_review(int(object_id))
        batch = uow.batches.lock_pk(review.batch_id)
        check_in_review(batch, "its audit trail is reviewed")
        evidence = gather(uow, self._cache, batch)
        rule = effective_policy(uow).rule(self.object_type, REVIEWED)
        check_independent(REVIEWED, signature.signer_id, rule.differs_from, evidence.step_signers())
        if evidence.head != review.head:
            raise Conflict(
                f"The audit trail of batch {batch.batch.id} changed after it was opened for review "
                f"(entries after #{review.head_seq}): open it again."
            )
