"""Row ⇄ domain translation for batches, their engine cursor and their step records."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import BatchEngineStateRow, BatchRow, ProductionOrderRow, StepRecordRow
from ebr.app.ports import EngineStep, StoredBatch, StoredStep
from ebr.domain.batch import Batch, BatchStatus
from ebr.domain.errors import Conflict, NotFound


def _batch(r: BatchRow, order_number: str) -> StoredBatch:
    batch = Batch(
        r.batch_id,
        order_number,
        r.product_code,
        r.procedure_version_id,
        r.procedure_hash,
        BatchStatus(r.status),
        r.version,
        r.held_since,
    )
    return StoredBatch(r.id, batch, r.order_id, r.started_at, r.started_by, r.held_since)


def _step(r: StepRecordRow) -> StoredStep:
    return StoredStep(
        r.id,
        r.batch_id,
        r.step_id,
        r.process_id,
        r.iteration,
        r.engine_key,
        r.status,
        r.became_ready_at,
        r.version,
        r.assigned_to,
        r.performed_by,
        r.performed_at,
        r.verified_by,
        r.verified_at,
        r.completed_at,
        r.hold_earliest,
        r.hold_latest,
        r.hold_deviation_id,
    )


class SqlBatchRepository:
    """Batches, their engine state and step records."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _stored(self, row: BatchRow) -> StoredBatch:
        order = self._s.get(ProductionOrderRow, row.order_id)
        assert order is not None  # a foreign key
        return _batch(row, order.order_number)

    def add(self, batch: Batch, order_id: int, started_at: datetime, started_by: int | None) -> StoredBatch:
        row = BatchRow(
            batch_id=batch.id,
            order_id=order_id,
            product_code=batch.product,
            procedure_version_id=batch.procedure_version_id,
            procedure_hash=batch.procedure_hash,
            status=str(batch.status),
            version=batch.version,
            started_at=started_at,
            started_by=started_by,
        )
        self._s.add(row)
        self._s.flush()
        return self._stored(row)

    def get(self, batch_id: str) -> StoredBatch:
        row = self._s.scalars(select(BatchRow).where(BatchRow.batch_id == batch_id)).first()
        if row is None:
            raise NotFound(f"No batch {batch_id}.")
        return self._stored(row)

    def by_order(self, order_id: int) -> StoredBatch | None:
        row = self._s.scalars(select(BatchRow).where(BatchRow.order_id == order_id)).first()
        return self._stored(row) if row else None

    def put_state(self, batch_pk: int, state: bytes, digest: str, at: datetime, expected: str | None = None) -> None:
        row = self._s.get(BatchEngineStateRow, batch_pk)
        if row is not None and expected is not None and row.state_sha256 != expected:
            raise Conflict("The batch moved on meanwhile: reload it.")
        if row is None:
            row = BatchEngineStateRow(batch_id=batch_pk)
            self._s.add(row)
        row.state, row.state_sha256, row.updated_at = state, digest, at
        self._s.flush()

    def state(self, batch_pk: int) -> tuple[bytes, str]:
        row = self._s.get(BatchEngineStateRow, batch_pk)
        if row is None:
            raise NotFound(f"No engine state for batch {batch_pk}.")
        return row.state, row.state_sha256

    def add_step(
        self,
        batch_pk: int,
        step: EngineStep,
        at: datetime,
        hold: tuple[datetime | None, datetime | None] = (None, None),
    ) -> StoredStep:
        row = StepRecordRow(
            batch_id=batch_pk,
            step_id=step.step_id,
            process_id=step.process_id,
            iteration=step.iteration,
            engine_key=step.key,
            status="ready",
            became_ready_at=at,
            version=1,
            hold_earliest=hold[0],
            hold_latest=hold[1],
        )
        self._s.add(row)
        self._s.flush()
        return _step(row)

    def steps(self, batch_pk: int, status: str | None = None) -> list[StoredStep]:
        stmt = select(StepRecordRow).where(StepRecordRow.batch_id == batch_pk).order_by(StepRecordRow.id)
        if status is not None:
            stmt = stmt.where(StepRecordRow.status == status)
        return [_step(r) for r in self._s.scalars(stmt)]

    def open_steps(self, batch_pk: int) -> list[StoredStep]:
        """Steps someone must act on: ready, or performed and awaiting verification (by index, however long)."""
        query = select(StepRecordRow).where(
            StepRecordRow.batch_id == batch_pk, StepRecordRow.status.in_(("ready", "performed"))
        )
        return [_step(r) for r in self._s.scalars(query.order_by(StepRecordRow.id))]

    def by_pk(self, batch_pk: int) -> StoredBatch:
        row = self._s.get(BatchRow, batch_pk)
        if row is None:
            raise NotFound(f"No batch {batch_pk}.")
        return self._stored(row)

    def lock(self, batch_id: str) -> StoredBatch:
        """The batch, locked for this transaction: commands on one batch run one after the other (SEQ-03)."""
        return self._locked(select(BatchRow).where(BatchRow.batch_id == batch_id), batch_id)

    def lock_pk(self, batch_pk: int) -> StoredBatch:
        """The batch by its key, locked like lock()."""
        return self._locked(select(BatchRow).where(BatchRow.id == batch_pk), str(batch_pk))

    def _locked(self, query: Select[BatchRow], name: str) -> StoredBatch:
        # Whatever this transaction read before it holds the lock may be stale: the previous holder may commit
        # meanwhile. Forget it all, so the locked row and every later read are what is committed then.
        self._s.flush()
        self._s.expire_all()
        row = self._s.scalars(query.with_for_update()).first()
        if row is None:
            raise NotFound(f"No batch {name}.")
        return self._stored(row)

    def step(self, step_pk: int) -> StoredStep:
        row = self._s.get(StepRecordRow, step_pk)
        if row is None:
            raise NotFound(f"No step record {step_pk}.")
        return _step(row)

    def update_step(self, step_pk: int, expected_version: int, **changes: object) -> StoredStep:
        row = self._s.get(StepRecordRow, step_pk)
        if row is None:
            raise NotFound(f"No step record {step_pk}.")
        if row.version != expected_version:
            raise Conflict(f"Step {row.step_id} changed meanwhile: reload it.")
        for name, value in changes.items():
            setattr(row, name, value)
        row.version = expected_version + 1
        self._s.flush()
        return _step(row)

    def update_batch(self, batch: Batch, expected_version: int, held_since: datetime | None) -> None:
        row = self._s.scalars(select(BatchRow).where(BatchRow.batch_id == batch.id)).one()
        if row.version != expected_version:
            raise Conflict(f"Batch {batch.id} changed meanwhile: reload it.")
        row.status, row.version, row.held_since = str(batch.status), batch.version, held_since
        self._s.flush()

    def active(self) -> list[StoredBatch]:
        live = ("in_progress", "held", "completed", "in_review")
        rows = self._s.scalars(select(BatchRow).where(BatchRow.status.in_(live)).order_by(BatchRow.id))
        return [self._stored(r) for r in rows]

    def listed(self, ranks: Mapping[str, int], offset: int, limit: int, newest_first: bool) -> list[StoredBatch]:
        """One page of the batches in these states, by the states' rank, then newest (or oldest) first."""
        rank = case(dict(ranks), value=BatchRow.status)
        age = BatchRow.id.desc() if newest_first else BatchRow.id
        query = (
            select(BatchRow, ProductionOrderRow.order_number)
            .join(ProductionOrderRow, ProductionOrderRow.id == BatchRow.order_id)
            .where(BatchRow.status.in_(sorted(ranks)))
            .order_by(rank, age)
            .offset(offset)
            .limit(limit)
        )
        return [_batch(row, number) for row, number in self._s.execute(query)]

    def count(self, statuses: Collection[str]) -> int:
        query = select(func.count()).select_from(BatchRow).where(BatchRow.status.in_(sorted(statuses)))
        return int(self._s.scalar(query) or 0)

    def open_steps_of(self, batch_pks: Collection[int]) -> list[StoredStep]:
        """The open steps of several batches in one query, in id order."""
        if not batch_pks:
            return []
        query = select(StepRecordRow).where(
            StepRecordRow.batch_id.in_(sorted(batch_pks)), StepRecordRow.status.in_(("ready", "performed"))
        )
        return [_step(r) for r in self._s.scalars(query.order_by(StepRecordRow.id))]

    def overdue_steps(self, now: datetime) -> list[StoredStep]:
        query = select(StepRecordRow).where(
            StepRecordRow.hold_latest < now,
            StepRecordRow.hold_deviation_id.is_(None),
            StepRecordRow.status.in_(("ready", "performed")),
        )
        return [_step(r) for r in self._s.scalars(query.order_by(StepRecordRow.id))]
