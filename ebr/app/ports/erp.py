"""Ports of the outbound ERP boundary: the outbox of frozen postings, the transport that delivers them, the encoder.

A posting is written in the transaction of its state change (ERP-02) and then delivered at least once by a
dispatcher; the ERP deduplicates on the key, so the effect happens once (ERP-03).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ebr.domain.erp import Posting


class PostingStatus(StrEnum):
    """Where a posting is in its delivery."""

    PENDING = "pending"  # waiting, retrying, or in flight under a lease
    SENT = "sent"  # the ERP acknowledged it (or said it already had it)
    DEAD = "dead"  # refused for good, or out of attempts: needs a person, then a replay


class Outcome(StrEnum):
    """What one delivery attempt led to."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class NewPosting:
    """A posting as enqueued: its key, what it was made from and its frozen bytes."""

    aggregate: str
    batch_pk: int | None
    kind: str
    revision: int
    key: str
    content_type: str
    payload: bytes
    payload_json: str
    payload_sha256: str
    record_hash: str | None
    reverses: str | None
    created_at: datetime


@dataclass(frozen=True)
class StoredPosting:
    """A posting and where its delivery stands (no payload bytes: see OutboxRepository.frozen)."""

    id: int
    aggregate: str
    batch_pk: int | None
    kind: str
    revision: int
    key: str
    content_type: str
    payload_sha256: str
    record_hash: str | None
    reverses: str | None
    created_at: datetime
    status: PostingStatus
    attempts: int
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    last_error: str
    last_status: int | None
    sent_at: datetime | None


@dataclass(frozen=True)
class FrozenPayload:
    """The exact bytes a posting sends, with their hash and their JSON rendering."""

    key: str
    content_type: str
    payload: bytes
    payload_json: str
    payload_sha256: str


@dataclass(frozen=True)
class ClaimedPosting:
    """A posting leased to one dispatcher for one attempt; the lease was committed before anything is sent."""

    id: int
    aggregate: str
    key: str
    content_type: str
    payload: bytes
    payload_sha256: str
    attempt: int  # attempts in the current round, this one included (a replay starts a new round)


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt as logged: what was sent (by hash), when, by whom, and what came back."""

    message_id: int
    attempt: int
    dispatcher: str
    started_at: datetime
    finished_at: datetime
    payload_sha256: str
    http_status: int | None
    outcome: Outcome
    error: str


class OutboxRepository(Protocol):
    """Postings frozen at enqueue; only their delivery columns move, each attempt is appended (ERP-02, ERP-03)."""

    def by_key(self, key: str) -> StoredPosting | None: ...
    def add(self, posting: NewPosting) -> int | None:
        """The new row's id; None when a row with this key exists (nothing written)."""
        ...

    def get(self, message_id: int) -> StoredPosting: ...
    def frozen(self, message_id: int) -> FrozenPayload: ...
    def claim_due(self, dispatcher: str, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedPosting]:
        """Lease the due head posting of each batch, oldest first; never a posting whose batch has an older one
        not yet sent, nor one another dispatcher holds under a live lease (ERP-04)."""
        ...

    def lock(self, message_id: int) -> StoredPosting:
        """The posting, locked until the transaction ends (finishers of one posting go one at a time)."""
        ...

    def lock_many(self, message_ids: Collection[int]) -> dict[int, StoredPosting]:
        """The postings, locked in id order until the transaction ends."""
        ...

    def record_attempt(self, attempt: DeliveryAttempt) -> None: ...
    def attempt_count(self, message_id: int) -> int:
        """How many attempts of the posting are logged (the next one is this plus one)."""
        ...

    def attempt_counts(self, message_ids: Collection[int]) -> dict[int, int]:
        """As attempt_count, for several postings; a posting without attempts is left out."""
        ...

    def attempts(self, message_id: int) -> list[DeliveryAttempt]: ...
    def mark_sent(self, message_id: int, status: int | None, at: datetime) -> None: ...
    def schedule_retry(self, message_id: int, status: int | None, error: str, next_attempt_at: datetime) -> None: ...
    def mark_dead(self, message_id: int, status: int | None, error: str) -> None: ...
    def requeue(self, message_id: int, at: datetime) -> None:
        """A dead posting goes back to pending with a fresh round of attempts; key and bytes stay as they are."""
        ...

    def recent(self, status: PostingStatus | None = None, limit: int = 200) -> list[StoredPosting]:
        """Newest first."""
        ...

    def counts(self) -> dict[PostingStatus, int]: ...
    def unsent_heads(self, aggregates: Collection[str]) -> dict[str, int]:
        """Per batch, its oldest posting not yet sent (the one the others wait for)."""
        ...

    def for_aggregate(self, aggregate: str) -> list[StoredPosting]:
        """The postings of one batch, in the order they are delivered."""
        ...


@dataclass(frozen=True)
class TransportResult:
    """What the ERP answered: an HTTP status, or None with the transport error when nothing usable came back."""

    status: int | None
    error: str = ""
    duplicate: bool = False  # the ERP said it already had this key (the original result is returned)
    retry_after: float | None = None  # seconds the ERP asked us to wait (Retry-After), if it said so


class ErpTransport(Protocol):
    """Delivers one posting; never raises for HTTP or network problems, it reports them."""

    def send(self, key: str, content_type: str, body: bytes) -> TransportResult: ...
    def close(self) -> None:
        """Release its connections."""
        ...


class PostingEncoder(Protocol):
    """Turns a posting into the B2MML document the ERP receives, and checks it against the schema (ERP-06)."""

    def xml(self, posting: Posting) -> bytes: ...
    def json(self, posting: Posting) -> str: ...
    def validate(self, xml: bytes) -> None:
        """Raises InvalidInput naming the problem when the document is not schema-valid."""
        ...
