"""QA's decision on a reviewed batch, and what may follow it (21 CFR 211.192; EU GMP Annex 16; QA-02, QA-04, QA-05).

A release or rejection is requested with its reason and takes effect only when QA signs it, with the batch locked:
of two releases signed at once exactly one wins. Release is refused while anything blocks it, every blocker named.
After the decision the record is closed; information that arrives later is a separately signed addendum.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ebr.app.accounts import require, require_reason
from ebr.app.addendum_pdf import AddendumPdf
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.execution_context import ProcedureCache
from ebr.app.policy import effective_policy
from ebr.app.ports import Challenge, Clock, StoredBatch, StoredKey, StoredSignature, UnitOfWork, UnitOfWorkFactory
from ebr.app.ports.review import Addendum, BatchDecision, ReleaseCandidateCheck, ReleasePdf
from ebr.app.review import check_in_review
from ebr.app.review_evidence import gather, release_blockers
from ebr.domain.accounts import Permission, User
from ebr.domain.audit import Action
from ebr.domain.batch import BatchAction, BatchStatus, ReleaseBlocked, check_action
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition
from ebr.domain.review import check_independent
from ebr.domain.signatures import SitePolicy

if TYPE_CHECKING:  # the postings module reads the record, which reads these modules
    from ebr.app.erp_postings import ErpPostings

# decision → (the signature meaning that applies it, the batch action it performs)
DECISIONS: dict[str, tuple[str, BatchAction]] = {
    "release": ("released", BatchAction.RELEASE),
    "reject": ("rejected", BatchAction.REJECT),
}
ADDENDUM_MEANING = "approved"
DECIDED = frozenset({BatchStatus.RELEASED, BatchStatus.REJECTED})
MAX_ADDENDUM = 10_000


def meaning_of(decision: str) -> str:
    """The signature meaning that applies a decision."""
    if decision not in DECISIONS:
        raise InvalidInput(f"Unknown decision {decision!r}; known: {', '.join(DECISIONS)}.")
    return DECISIONS[decision][0]


class ReleaseService:
    """Requests of QA that a signature applies: release, reject, and an addendum after either."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache, candidate: ReleaseCandidateCheck
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._candidate = candidate

    def request_decision(
        self, actor: Actor, batch_id: str, decision: str, reason: str, request: RequestInfo | None = None
    ) -> BatchDecision:
        """Release or reject with the reason, pending its signature (QA-04)."""
        meaning_of(decision)
        why = require_reason(reason)
        ctx = AuditContext(actor, self._clock.now(), why, request or RequestInfo())
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_RELEASE)
            batch = uow.batches.lock(batch_id)
            check_in_review(batch, f"it may be {meaning_of(decision)}")
            if decision == "release":
                # Refused now, before anyone types a password; the signature checks again with the batch locked.
                found = release_blockers(
                    uow,
                    gather(uow, self._cache, batch),
                    uow.reviews.marks(batch.id),
                    self._candidate.blocker(uow, batch.id),
                )
                if found:
                    raise ReleaseBlocked(found)
            stored = uow.decisions.add_decision(BatchDecision(0, batch.id, decision, why, actor.user_id, ctx.at))
            uow.commit()
        return stored

    def add_addendum(
        self, actor: Actor, batch_id: str, text: str, reason: str, request: RequestInfo | None = None
    ) -> Addendum:
        """Information that arrived after the decision, as its own entity, in force once signed (QA-05, SEQ-05)."""
        body = text.strip()
        if not body or len(body) > MAX_ADDENDUM:
            raise InvalidInput(f"An addendum needs its text (at most {MAX_ADDENDUM} characters).")
        why = require_reason(reason)
        ctx = AuditContext(actor, self._clock.now(), why, request or RequestInfo())
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_RELEASE)
            batch = uow.batches.lock(batch_id)
            if batch.batch.status not in DECIDED:
                raise InvalidTransition(
                    f"Batch {batch_id} is {batch.batch.status}: an addendum follows a release or a rejection; "
                    "until then the record itself is completed or corrected."
                )
            stored = uow.decisions.add_addendum(Addendum(0, batch.id, body, why, actor.user_id, ctx.at))
            uow.commit()
        return stored


class ReleaseSignable:
    """'Released' or 'rejected' on a requested decision: applied with the batch locked, release only without
    blockers (QA-02); only the roles the site policy names may sign (QA-04)."""

    object_type = "batch_release"

    def __init__(
        self,
        cache: ProcedureCache,
        candidate: ReleaseCandidateCheck,
        pdf: ReleasePdf | None = None,
        postings: ErpPostings | None = None,
    ) -> None:
        self._cache = cache
        self._candidate = candidate
        self._pdf = pdf  # the releaser's signature on the candidate PDF; None only where no PDF is made
        self._postings = postings  # the usage decision reaches the ERP in the same transaction

    def prepare_signature(
        self, challenge: Challenge, key: StoredKey, password: str, signer: User, at: datetime
    ) -> None:
        """Before the release transaction: the releaser's own key signs the candidate PDF (MISSION)."""
        if self._pdf is not None and challenge.meaning == DECISIONS["release"][0]:
            self._pdf.prepare(challenge.id, int(challenge.object_id), key, password, signer.full_name, at)

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        """What never changes: the batch, the decision and its reason."""
        decision = uow.decisions.decision(int(object_id))
        return {
            "object": self.object_type,
            "batch": uow.batches.by_pk(decision.batch_id).batch.id,
            "request": decision.id,
            "decision": decision.decision,
            "reason": decision.reason,
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        return uow.decisions.decision(int(object_id)).reason

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        decision = uow.decisions.decision(int(object_id))
        meaning, action = DECISIONS[decision.decision]
        if signature.meaning != meaning:
            raise Conflict(f"A {decision.decision} is applied by a {meaning!r} signature.")
        batch = uow.batches.lock_pk(decision.batch_id)  # of two concurrent decisions, the second waits here
        check_action(batch.batch.status, action)
        evidence = gather(uow, self._cache, batch)
        rule = effective_policy(uow).rule(self.object_type, meaning)
        check_independent(meaning, signature.signer_id, rule.differs_from, evidence.step_signers())
        if action is BatchAction.RELEASE:
            found = release_blockers(uow, evidence, uow.reviews.marks(batch.id), self._candidate.blocker(uow, batch.id))
            moved, _ = batch.batch.release(ctx.at, signature.signer_id, found)
            if self._pdf is not None:
                self._pdf.store(uow, batch.id, signature, ctx.at)
        else:
            moved, _ = batch.batch.reject(ctx.at, signature.signer_id, decision.reason)
        uow.batches.update_batch(moved, batch.batch.version, None)
        _record(uow, batch, decision, signature)

    def after_signed(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        """The decision is recorded: the usage decision goes to the ERP's outbox in the same transaction."""
        if self._postings is not None:
            decision = uow.decisions.decision(int(object_id))
            self._postings.decided(uow, decision.batch_id, signature.meaning, ctx.at)


def _record(uow: UnitOfWork, batch: StoredBatch, decision: BatchDecision, signature: StoredSignature) -> None:
    """The decision as one entry on the batch: who decided, by which signature, on which request."""
    uow.audit.append(
        Action.STATE_CHANGE,
        "batch",
        str(batch.id),
        field="decision",
        old=str(batch.batch.status),
        new=json.dumps(
            {
                "decision": decision.decision,
                "request": decision.id,
                "signature": signature.id,
                "signer": f"{signature.signer_name} ({signature.signer_username})",
                "meaning": signature.meaning_text,
            },
            sort_keys=True,
        ),
    )


class AddendumSignable:
    """An addendum approved by QA: its own signed entity; the released record it follows stays as it was.

    With a PDF service, approving also stores a new signed revision of the addendum document (QA-05)."""

    object_type = "batch_addendum"

    def __init__(self, pdf: AddendumPdf | None = None) -> None:
        self._pdf = pdf

    def prepare_signature(
        self, challenge: Challenge, key: StoredKey, password: str, signer: User, at: datetime
    ) -> None:
        """Before the approval transaction: the approver's own key signs the addendum revision."""
        if self._pdf is not None and challenge.meaning == ADDENDUM_MEANING:
            who = Actor(signer.id, signer.username, signer.full_name)
            self._pdf.prepare(challenge.id, int(challenge.object_id), key, password, who, at)

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        addendum = uow.decisions.addendum(int(object_id))
        return {
            "object": self.object_type,
            "batch": uow.batches.by_pk(addendum.batch_id).batch.id,
            "addendum": addendum.id,
            "text": addendum.text,
            "reason": addendum.reason,
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        return effective_policy(uow)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        return uow.decisions.addendum(int(object_id)).reason

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        if signature.meaning != ADDENDUM_MEANING:
            raise Conflict(f"An addendum is signed {ADDENDUM_MEANING!r}, not {signature.meaning!r}.")
        addendum = uow.decisions.addendum(int(object_id))
        batch = uow.batches.lock_pk(addendum.batch_id)
        if batch.batch.status not in DECIDED:
            raise InvalidTransition(f"Batch {batch.batch.id} is {batch.batch.status}: it takes no addendum.")
        earlier = [s for s in uow.signatures.for_object(self.object_type, object_id) if s.id != signature.id]
        if any(s.meaning == ADDENDUM_MEANING for s in earlier):
            raise Conflict(f"Addendum {addendum.id} is approved already.")
        if self._pdf is not None:
            self._pdf.store(uow, batch.id, signature, ctx.at)
