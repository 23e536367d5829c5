"""Ports of QA review and release: acknowledgements, audit-trail reviews, release decisions, addenda, and the
read side review by exception needs (a batch's audit entries, its signatures), all append-only."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ebr.domain.audit import AuditEntry

if TYPE_CHECKING:
    from ebr.app.ports.core import UnitOfWork
    from ebr.app.ports.signing import StoredKey, StoredSignature


@dataclass(frozen=True)
class ReviewMark:
    """A reviewer's acknowledgement of one exception, with their comment; a later mark on the same key counts."""

    id: int
    batch_id: int
    key: str
    comment: str
    marked_by: int
    marked_at: datetime


@dataclass(frozen=True)
class TrailReview:
    """The batch's audit trail as one reviewer opened it: its last entry, signed "reviewed" (AUD-09)."""

    id: int
    batch_id: int
    head_seq: int
    head_hash: str
    entries: int
    requested_by: int
    requested_at: datetime

    @property
    def head(self) -> tuple[int, str]:
        """The last entry reviewed: its sequence number and hash."""
        return self.head_seq, self.head_hash


@dataclass(frozen=True)
class BatchDecision:
    """A release or a rejection requested by QA with its reason; it takes effect only when signed (QA-04)."""

    id: int
    batch_id: int
    decision: str  # release | reject
    reason: str
    requested_by: int
    requested_at: datetime


@dataclass(frozen=True)
class Addendum:
    """Information added after the decision, as its own signed entity; released content never changes (SEQ-05)."""

    id: int
    batch_id: int
    text: str
    reason: str
    added_by: int
    added_at: datetime


@dataclass(frozen=True)
class SignatureRef:
    """Who signed which object with which meaning, when."""

    id: int
    object_id: str
    meaning: str
    signer_id: int
    signer_name: str
    signer_username: str
    signed_at: datetime


class ReviewRepository(Protocol):
    """Review marks and audit-trail reviews (append-only), and the evidence queries of a batch review."""

    def add_mark(self, mark: ReviewMark) -> ReviewMark: ...
    def marks(self, batch_pk: int) -> list[ReviewMark]: ...
    def add_trail_review(self, review: TrailReview) -> TrailReview: ...
    def trail_review(self, review_pk: int) -> TrailReview: ...
    def trail_reviews(self, batch_pk: int) -> list[TrailReview]: ...
    def trail(self, objects: Mapping[str, Collection[str]]) -> list[AuditEntry]: ...
    def signatures(self, object_type: str, object_ids: Collection[str]) -> list[SignatureRef]: ...


class DecisionRepository(Protocol):
    """Release and rejection requests, and addenda (append-only)."""

    def add_decision(self, decision: BatchDecision) -> BatchDecision: ...
    def decision(self, decision_pk: int) -> BatchDecision: ...
    def decisions(self, batch_pk: int) -> list[BatchDecision]: ...
    def add_addendum(self, addendum: Addendum) -> Addendum: ...
    def addendum(self, addendum_pk: int) -> Addendum: ...
    def addenda(self, batch_pk: int) -> list[Addendum]: ...


class ReleaseCandidateCheck(Protocol):
    """Whether the batch's release candidate (its rendered record) matches the current record (MISSION: PDF
    signature); the reason it does not, or None when release may go ahead on that count."""

    def blocker(self, uow: UnitOfWork, batch_pk: int) -> str | None: ...


class ReleasePdf(Protocol):
    """The releaser's PAdES signature on the release candidate: made once the password is checked, stored by the
    release transaction (MISSION: PDF signature)."""

    def prepare(
        self, challenge_id: str, decision_pk: int, key: StoredKey, password: str, signer_name: str, at: datetime
    ) -> None: ...
    def store(self, uow: UnitOfWork, batch_pk: int, signature: StoredSignature, at: datetime) -> None: ...
