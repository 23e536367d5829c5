"""Row ⇄ port translation for the execution evidence: values, deviations, batch actions, yields."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import (
    BatchActionRow,
    BatchYieldRow,
    DeviationRow,
    MaterialReconciliationRow,
    StepValueRow,
)
from ebr.app.ports import StoredAction, StoredDeviation, StoredReconciliation, StoredValue, StoredYield
from ebr.domain.errors import Conflict, NotFound

T = TypeVar("T")


def _to(cls: type[T], row: Any) -> T:
    """The port dataclass with the row's columns of the same names."""
    return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def _columns(value: Any, skip_id: bool = True) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if not (skip_id and f.name == "id")}


class SqlStepValueRepository:
    """Values as entered; never updated."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, value: StoredValue) -> StoredValue:
        row = StepValueRow(**_columns(value))
        self._s.add(row)
        self._s.flush()
        return _to(StoredValue, row)

    def for_step(self, step_pk: int) -> list[StoredValue]:
        rows = self._s.scalars(select(StepValueRow).where(StepValueRow.step_record_id == step_pk).order_by("id"))
        return [_to(StoredValue, r) for r in rows]

    def for_batch(self, batch_pk: int) -> list[StoredValue]:
        rows = self._s.scalars(select(StepValueRow).where(StepValueRow.batch_id == batch_pk).order_by("id"))
        return [_to(StoredValue, r) for r in rows]

    def current(self, step_pk: int, field_id: str) -> StoredValue | None:
        """The field's value in force at the step: the newest, read alone however long its history is."""
        row = self._s.scalars(
            select(StepValueRow)
            .where(StepValueRow.step_record_id == step_pk, StepValueRow.field_id == field_id)
            .order_by(StepValueRow.id.desc())
            .limit(1)
        ).first()
        return _to(StoredValue, row) if row is not None else None

    def latest(self, batch_pk: int, field_ids: frozenset[str]) -> dict[str, StoredValue]:
        """The newest value of each named field in the batch; indexed by (batch, field), so cost stays flat."""
        if not field_ids:
            return {}
        newest = (
            select(func.max(StepValueRow.id))
            .where(StepValueRow.batch_id == batch_pk, StepValueRow.field_id.in_(sorted(field_ids)))
            .group_by(StepValueRow.field_id)
        )
        rows = self._s.scalars(select(StepValueRow).where(StepValueRow.id.in_(newest)))
        return {r.field_id: _to(StoredValue, r) for r in rows}


class SqlDeviationRepository:
    """Deviations; an update must name the version it read."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, deviation: StoredDeviation) -> StoredDeviation:
        row = DeviationRow(**_columns(deviation))
        self._s.add(row)
        self._s.flush()
        return _to(StoredDeviation, row)

    def get(self, deviation_pk: int) -> StoredDeviation:
        row = self._s.get(DeviationRow, deviation_pk)
        if row is None:
            raise NotFound(f"No deviation {deviation_pk}.")
        return _to(StoredDeviation, row)

    def for_batch(self, batch_pk: int) -> list[StoredDeviation]:
        rows = self._s.scalars(select(DeviationRow).where(DeviationRow.batch_id == batch_pk).order_by("id"))
        return [_to(StoredDeviation, r) for r in rows]

    def update(self, deviation: StoredDeviation, expected_version: int) -> StoredDeviation:
        row = self._s.get(DeviationRow, deviation.id)
        if row is None:
            raise NotFound(f"No deviation {deviation.id}.")
        if row.version != expected_version:
            raise Conflict(f"Deviation {row.number} changed meanwhile: reload it.")
        for name, value in _columns(deviation).items():
            if getattr(row, name) != value:
                setattr(row, name, value)
        row.version = expected_version + 1
        self._s.flush()
        return _to(StoredDeviation, row)

    def next_number(self, batch_pk: int, batch_id: str) -> str:
        count = self._s.scalar(select(func.count()).where(DeviationRow.batch_id == batch_pk)) or 0
        return f"DEV-{batch_id}-{count + 1:03d}"


class SqlBatchActionRepository:
    """Requested batch actions and their application by signature."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, action: StoredAction) -> StoredAction:
        row = BatchActionRow(**_columns(action))
        self._s.add(row)
        self._s.flush()
        return _to(StoredAction, row)

    def get(self, action_pk: int) -> StoredAction:
        row = self._s.get(BatchActionRow, action_pk)
        if row is None:
            raise NotFound(f"No batch action {action_pk}.")
        return _to(StoredAction, row)

    def for_batch(self, batch_pk: int) -> list[StoredAction]:
        rows = self._s.scalars(select(BatchActionRow).where(BatchActionRow.batch_id == batch_pk).order_by("id"))
        return [_to(StoredAction, r) for r in rows]

    def mark(self, action_pk: int, status: str, at: datetime, signature_id: int | None) -> None:
        """Move a pending action on (the caller holds the batch lock, so exactly one signer wins)."""
        row = self._s.get(BatchActionRow, action_pk)
        if row is None or row.status != "pending":
            raise Conflict(f"Batch action {action_pk} is no longer pending: reload the batch.")
        row.status, row.applied_at, row.signature_id = status, at, signature_id
        self._s.flush()


class SqlYieldRepository:
    """Yields and reconciliations; append-only."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add_yield(self, record: StoredYield) -> StoredYield:
        row = BatchYieldRow(**_columns(record))
        self._s.add(row)
        self._s.flush()
        return _to(StoredYield, row)

    def add_reconciliation(self, record: StoredReconciliation) -> StoredReconciliation:
        row = MaterialReconciliationRow(**_columns(record))
        self._s.add(row)
        self._s.flush()
        return _to(StoredReconciliation, row)

    def yields(self, batch_pk: int) -> list[StoredYield]:
        rows = self._s.scalars(select(BatchYieldRow).where(BatchYieldRow.batch_id == batch_pk).order_by("id"))
        return [_to(StoredYield, r) for r in rows]

    def reconciliations(self, batch_pk: int) -> list[StoredReconciliation]:
        query = select(MaterialReconciliationRow).where(MaterialReconciliationRow.batch_id == batch_pk)
        return [_to(StoredReconciliation, r) for r in self._s.scalars(query.order_by("id"))]
