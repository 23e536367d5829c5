"""The outbox of ERP postings on the 0011 tables: frozen rows, leased claims, an append-only attempt log.

Claiming takes the head posting of each batch only, so one batch never has two postings in flight and a later
posting never overtakes an earlier one (ERP-04). On PostgreSQL the claim locks with FOR UPDATE SKIP LOCKED and
commits a lease (claimed_by, claimed_until) before anything is sent, so no transaction stays open during the call;
on SQLite every write transaction is BEGIN IMMEDIATE (engine.py), which serialises claimers the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, defer

from ebr.adapters.db.models import OutboxAttemptRow, OutboxMessageRow
from ebr.app.ports import (
    ClaimedPosting,
    DeliveryAttempt,
    FrozenPayload,
    NewPosting,
    PostingStatus,
    StoredPosting,
)
from ebr.app.ports.erp import Outcome
from ebr.domain.errors import NotFound

Row = OutboxMessageRow
# The payload can be large; screens and the dispatcher's bookkeeping never need it.
_LIGHT = (defer(Row.payload), defer(Row.payload_json))


def _stored(r: OutboxMessageRow) -> StoredPosting:
    return StoredPosting(
        id=r.id,
        aggregate=r.aggregate,
        batch_pk=r.batch_id,
        kind=r.kind,
        revision=r.revision,
        key=r.idempotency_key,
        content_type=r.content_type,
        payload_sha256=r.payload_sha256,
        record_hash=r.record_hash,
        reverses=r.reverses,
        created_at=r.created_at,
        status=PostingStatus(r.status),
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        claimed_by=r.claimed_by,
        claimed_until=r.claimed_until,
        last_error=r.last_error,
        last_status=r.last_status,
        sent_at=r.sent_at,
    )


def _attempt(r: OutboxAttemptRow) -> DeliveryAttempt:
    return DeliveryAttempt(
        message_id=r.message_id,
        attempt=r.attempt,
        dispatcher=r.dispatcher,
        started_at=r.started_at,
        finished_at=r.finished_at,
        payload_sha256=r.payload_sha256,
        http_status=r.http_status,
        outcome=Outcome(r.outcome),
        error=r.error,
    )


class SqlOutboxRepository:
    """Postings and their delivery attempts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @property
    def _postgresql(self) -> bool:
        return self._s.get_bind().dialect.name == "postgresql"

    def by_key(self, key: str) -> StoredPosting | None:
        row = self._s.scalars(select(Row).options(*_LIGHT).where(Row.idempotency_key == key)).first()
        return _stored(row) if row else None

    def add(self, posting: NewPosting) -> int | None:
        row = Row(
            aggregate=posting.aggregate,
            batch_id=posting.batch_pk,
            kind=posting.kind,
            revision=posting.revision,
            idempotency_key=posting.key,
            content_type=posting.content_type,
            payload=posting.payload,
            payload_json=posting.payload_json,
            payload_sha256=posting.payload_sha256,
            record_hash=posting.record_hash,
            reverses=posting.reverses,
            created_at=posting.created_at,
            status=str(PostingStatus.PENDING),
            attempts=0,
            next_attempt_at=posting.created_at,
            last_error="",
        )
        try:
            # A savepoint: a concurrent enqueue of the same key must not abort the caller's whole transaction.
            with self._s.begin_nested():
                self._s.add(row)
                self._s.flush()  # the unique key is checked here, inside the savepoint
        except IntegrityError:
            if self.by_key(posting.key) is None:
                raise  # not the key: a broken reference, which the caller must see
            return None
        return row.id

    def _row(self, message_id: int, *, locked: bool = False) -> OutboxMessageRow:
        if locked:
            # The row as the lock sees it, not as this session may have read it before waiting for the lock.
            query = select(Row).options(*_LIGHT).where(Row.id == message_id)
            row = self._s.scalars(query.with_for_update().execution_options(populate_existing=True)).first()
        else:
            row = self._s.get(Row, message_id, options=_LIGHT)  # from the identity map once this session has it
        if row is None:
            raise NotFound(f"No ERP posting {message_id}.")
        return row

    def get(self, message_id: int) -> StoredPosting:
        return _stored(self._row(message_id))

    def lock(self, message_id: int) -> StoredPosting:
        return _stored(self._row(message_id, locked=True))

    def lock_many(self, message_ids: Collection[int]) -> dict[int, StoredPosting]:
        # Always in id order: two transactions locking overlapping sets then never wait for each other in a circle.
        query = select(Row).options(*_LIGHT).where(Row.id.in_(sorted(message_ids))).order_by(Row.id)
        rows = self._s.scalars(query.with_for_update().execution_options(populate_existing=True))
        return {row.id: _stored(row) for row in rows}

    def frozen(self, message_id: int) -> FrozenPayload:
        row = self._s.get(Row, message_id)
        if row is None:
            raise NotFound(f"No ERP posting {message_id}.")
        return FrozenPayload(row.idempotency_key, row.content_type, row.payload, row.payload_json, row.payload_sha256)

    def claim_due(self, dispatcher: str, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedPosting]:
        older = aliased(Row)
        # Any older posting of the batch not yet sent (waiting, in flight or dead) holds the later ones back.
        behind = (
            select(older.id)
            .where(older.aggregate == Row.aggregate, older.id < Row.id, older.status != str(PostingStatus.SENT))
            .exists()
        )
        query = (
            select(
                Row.id,
                Row.aggregate,
                Row.idempotency_key,
                Row.content_type,
                Row.payload,
                Row.payload_sha256,
                Row.attempts,
            )
            .where(
                Row.status == str(PostingStatus.PENDING),
                Row.next_attempt_at <= now,
                or_(Row.claimed_until.is_(None), Row.claimed_until <= now),
                ~behind,
            )
            .order_by(Row.id)
            .limit(limit)
        )
        if self._postgresql:
            # Rows another dispatcher is claiming right now are skipped, not waited for; a row it leased meanwhile
            # is re-checked against the lease condition when locked, and drops out.
            query = query.with_for_update(skip_locked=True, of=Row)
        found = self._s.execute(query).all()
        if not found:
            return []
        self._s.execute(
            update(Row)
            .where(Row.id.in_([r.id for r in found]))
            .values(attempts=Row.attempts + 1, claimed_by=dispatcher, claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        return [
            ClaimedPosting(
                r.id, r.aggregate, r.idempotency_key, r.content_type, r.payload, r.payload_sha256, r.attempts + 1
            )
            for r in found
        ]

    def record_attempt(self, attempt: DeliveryAttempt) -> None:
        self._s.add(
            OutboxAttemptRow(
                message_id=attempt.message_id,
                attempt=attempt.attempt,
                dispatcher=attempt.dispatcher,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                payload_sha256=attempt.payload_sha256,
                http_status=attempt.http_status,
                outcome=str(attempt.outcome),
                error=attempt.error,
            )
        )

    def attempt_count(self, message_id: int) -> int:
        query = select(func.max(OutboxAttemptRow.attempt)).where(OutboxAttemptRow.message_id == message_id)
        return int(self._s.scalar(query) or 0)

    def attempt_counts(self, message_ids: Collection[int]) -> dict[int, int]:
        query = (
            select(OutboxAttemptRow.message_id, func.max(OutboxAttemptRow.attempt))
            .where(OutboxAttemptRow.message_id.in_(sorted(message_ids)))
            .group_by(OutboxAttemptRow.message_id)
        )
        return {message_id: int(count) for message_id, count in self._s.execute(query)}

    def attempts(self, message_id: int) -> list[DeliveryAttempt]:
        query = select(OutboxAttemptRow).where(OutboxAttemptRow.message_id == message_id)
        return [_attempt(r) for r in self._s.scalars(query.order_by(OutboxAttemptRow.attempt))]

    def _move(self, message_id: int, **values: object) -> None:
        row = self._row(message_id)
        for name, value in values.items():
            setattr(row, name, value)  # written by the unit of work's commit

    def mark_sent(self, message_id: int, status: int | None, at: datetime) -> None:
        row = self._row(message_id)
        if row.status == PostingStatus.SENT:
            return  # a late duplicate acknowledgement: the first one stands
        self._move(
            message_id,
            status=str(PostingStatus.SENT),
            last_status=status,
            last_error="",
            sent_at=at,
            claimed_by=None,
            claimed_until=None,
        )

    def schedule_retry(self, message_id: int, status: int | None, error: str, next_attempt_at: datetime) -> None:
        self._move(
            message_id,
            last_status=status,
            last_error=error,
            next_attempt_at=next_attempt_at,
            claimed_by=None,
            claimed_until=None,
        )

    def mark_dead(self, message_id: int, status: int | None, error: str) -> None:
        self._move(
            message_id,
            status=str(PostingStatus.DEAD),
            last_status=status,
            last_error=error,
            claimed_by=None,
            claimed_until=None,
        )

    def requeue(self, message_id: int, at: datetime) -> None:
        self._move(
            message_id,
            status=str(PostingStatus.PENDING),
            attempts=0,
            next_attempt_at=at,
            claimed_by=None,
            claimed_until=None,
        )

    def recent(self, status: PostingStatus | None = None, limit: int = 200) -> list[StoredPosting]:
        query = select(Row).options(*_LIGHT)
        if status is not None:
            query = query.where(Row.status == str(status))
        return [_stored(r) for r in self._s.scalars(query.order_by(Row.id.desc()).limit(limit))]

    def counts(self) -> dict[PostingStatus, int]:
        found: dict[str, int] = {
            status: count for status, count in self._s.execute(select(Row.status, func.count()).group_by(Row.status))
        }
        return {status: int(found.get(str(status), 0)) for status in PostingStatus}

    def unsent_heads(self, aggregates: Collection[str]) -> dict[str, int]:
        if not aggregates:
            return {}
        query = (
            select(Row.aggregate, func.min(Row.id))
            .where(Row.aggregate.in_(sorted(aggregates)), Row.status != str(PostingStatus.SENT))
            .group_by(Row.aggregate)
        )
        return {aggregate: head for aggregate, head in self._s.execute(query)}

    def for_aggregate(self, aggregate: str) -> list[StoredPosting]:
        query = select(Row).options(*_LIGHT).where(Row.aggregate == aggregate).order_by(Row.id)
        return [_stored(r) for r in self._s.scalars(query)]
