"""Row ⇄ port translation for equipment instances, their logbook, uses, scan checks and dispensed material."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import DispensingRow, EquipmentLogRow, EquipmentRow, EquipmentUseRow, IdentityCheckRow
from ebr.app.ports import (
    Dispensing,
    EquipmentUse,
    IdentityCheck,
    LogbookEntry,
    StoredEquipment,
)
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.errors import Conflict, NotFound

DECIMALS = ("tare", "gross", "net", "target", "tolerance")


def _endpoint(r: EquipmentRow) -> Endpoint | None:
    if r.host is None:
        return None
    default = Endpoint(r.host)  # the columns are written together; the defaults only satisfy the types
    return Endpoint(
        r.host,
        default.port if r.port is None else r.port,
        default.unit_id if r.unit_id is None else r.unit_id,
        default.timeout_s if r.timeout_s is None else r.timeout_s,
        default.retries if r.retries is None else r.retries,
    )


def _instance(r: EquipmentRow) -> EquipmentInstance:
    return EquipmentInstance(
        code=r.code,
        class_id=r.class_id,
        description=r.description,
        location=r.location,
        endpoint=_endpoint(r),
        in_service=r.in_service,
        clean=r.clean,
        clean_until=r.clean_until,
        calibration_due=r.calibration_due,
        qualified_until=r.qualified_until,
    )


def _stored(r: EquipmentRow) -> StoredEquipment:
    return StoredEquipment(r.id, _instance(r), r.version, r.created_at, r.updated_at)


def _write(row: EquipmentRow, instance: EquipmentInstance) -> None:
    """Copy the instance onto the row; only changed columns are touched, so the trail names exactly those."""
    endpoint = instance.endpoint
    values: dict[str, Any] = {
        "class_id": instance.class_id,
        "description": instance.description,
        "location": instance.location,
        "host": endpoint.host if endpoint else None,
        "port": endpoint.port if endpoint else None,
        "unit_id": endpoint.unit_id if endpoint else None,
        "timeout_s": endpoint.timeout_s if endpoint else None,
        "retries": endpoint.retries if endpoint else None,
        "in_service": instance.in_service,
        "clean": instance.clean,
        "clean_until": instance.clean_until,
        "calibration_due": instance.calibration_due,
        "qualified_until": instance.qualified_until,
    }
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)


class SqlEquipmentRepository:
    """Equipment instances by code; an update must quote the version it read."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, instance: EquipmentInstance, at: datetime) -> StoredEquipment:
        row = EquipmentRow(code=instance.code, version=1, created_at=at, updated_at=at)
        _write(row, instance)
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _stored(row)

    def get(self, code: str) -> StoredEquipment | None:
        row = self._s.scalars(select(EquipmentRow).where(EquipmentRow.code == code)).one_or_none()
        return _stored(row) if row else None

    def update(self, instance: EquipmentInstance, expected_version: int, at: datetime) -> StoredEquipment:
        # Locked and re-read: a change committed meanwhile by another writer is seen here, not overwritten.
        query = select(EquipmentRow).where(EquipmentRow.code == instance.code).with_for_update()
        row = self._s.scalars(query.execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound(f"No equipment {instance.code!r}.")
        if row.version != expected_version:
            raise Conflict(
                f"Equipment {instance.code} changed meanwhile (version {row.version}, you edited version "
                f"{expected_version}): reload the page and make the change again."
            )
        _write(row, instance)
        row.version, row.updated_at = expected_version + 1, at
        self._s.flush()  # the audit entries of this change are derived now, in the caller's order
        return _stored(row)

    def list(self, class_id: str | None = None) -> list[StoredEquipment]:
        stmt = select(EquipmentRow).order_by(EquipmentRow.code)
        if class_id is not None:
            stmt = stmt.where(EquipmentRow.class_id == class_id)
        return [_stored(r) for r in self._s.scalars(stmt)]


def _entry(r: EquipmentLogRow) -> LogbookEntry:
    return LogbookEntry(
        r.id,
        r.equipment_code,
        r.kind,
        r.detail,
        r.valid_until,
        r.requested_by,
        r.requested_at,
        r.status,
        r.signature_id,
        r.applied_at,
    )


class SqlLogbookRepository:
    """Logbook entries; only a pending entry's status moves (to applied, with its signature)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, entry: LogbookEntry) -> LogbookEntry:
        row = EquipmentLogRow(**{f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name != "id"})
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _entry(row)

    def get(self, entry_id: int) -> LogbookEntry:
        row = self._s.get(EquipmentLogRow, entry_id)
        if row is None:
            raise NotFound(f"No logbook entry {entry_id}.")
        return _entry(row)

    def set_applied(self, entry_id: int, signature_id: int, at: datetime) -> None:
        query = select(EquipmentLogRow).where(EquipmentLogRow.id == entry_id).with_for_update()
        row = self._s.scalars(query.execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound(f"No logbook entry {entry_id}.")
        if row.status != "pending":
            raise Conflict(f"Logbook entry {entry_id} is {row.status} already: reload the page.")
        row.status, row.signature_id, row.applied_at = "applied", signature_id, at
        self._s.flush()  # the audit entry of the status change is derived now, in the caller's order

    def for_equipment(self, code: str) -> list[LogbookEntry]:
        stmt = select(EquipmentLogRow).where(EquipmentLogRow.equipment_code == code).order_by(EquipmentLogRow.id)
        return [_entry(r) for r in self._s.scalars(stmt)]


def _columns(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "id"}


def _use(r: EquipmentUseRow) -> EquipmentUse:
    return EquipmentUse(**{f.name: getattr(r, f.name) for f in dataclasses.fields(EquipmentUse)})


class SqlEquipmentUseRepository:
    """Uses of equipment; append-only."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, use: EquipmentUse) -> EquipmentUse:
        row = EquipmentUseRow(**_columns(use))
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _use(row)

    def for_batch(self, batch_id: int) -> list[EquipmentUse]:
        stmt = select(EquipmentUseRow).where(EquipmentUseRow.batch_id == batch_id)
        return [_use(r) for r in self._s.scalars(stmt.order_by(EquipmentUseRow.id))]

    def for_step(self, step_record_id: int) -> list[EquipmentUse]:
        stmt = select(EquipmentUseRow).where(EquipmentUseRow.step_record_id == step_record_id)
        return [_use(r) for r in self._s.scalars(stmt.order_by(EquipmentUseRow.id))]

    def for_equipment(self, code: str) -> list[EquipmentUse]:
        stmt = select(EquipmentUseRow).where(EquipmentUseRow.equipment_code == code)
        return [_use(r) for r in self._s.scalars(stmt.order_by(EquipmentUseRow.id))]


def _check(r: IdentityCheckRow) -> IdentityCheck:
    return IdentityCheck(**{f.name: getattr(r, f.name) for f in dataclasses.fields(IdentityCheck)})


class SqlIdentityCheckRepository:
    """Scan checks; append-only."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, check: IdentityCheck) -> IdentityCheck:
        row = IdentityCheckRow(**_columns(check))
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _check(row)

    def for_batch(self, batch_id: int) -> list[IdentityCheck]:
        stmt = select(IdentityCheckRow).where(IdentityCheckRow.batch_id == batch_id)
        return [_check(r) for r in self._s.scalars(stmt.order_by(IdentityCheckRow.id))]

    def for_step(self, step_record_id: int) -> list[IdentityCheck]:
        stmt = select(IdentityCheckRow).where(IdentityCheckRow.step_record_id == step_record_id)
        return [_check(r) for r in self._s.scalars(stmt.order_by(IdentityCheckRow.id))]


def _dispensing(r: DispensingRow) -> Dispensing:
    values: dict[str, Any] = {f.name: getattr(r, f.name) for f in dataclasses.fields(Dispensing)}
    values.update({name: Decimal(values[name]) for name in DECIMALS})
    return Dispensing(**values)


class SqlDispensingRepository:
    """Dispensed material; append-only. Quantities are kept as their exact decimal text."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, dispensing: Dispensing) -> Dispensing:
        values = _columns(dispensing)
        for name in DECIMALS:
            if not values[name].is_finite():
                raise ValueError(f"dispensing {name} must be a finite number, not {values[name]}")
            values[name] = str(values[name])  # "10.50" stays "10.50": the places the balance reported
        row = DispensingRow(**values)
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _dispensing(row)

    def for_batch(self, batch_id: int) -> list[Dispensing]:
        stmt = select(DispensingRow).where(DispensingRow.batch_id == batch_id)
        return [_dispensing(r) for r in self._s.scalars(stmt.order_by(DispensingRow.id))]

    def for_step(self, step_record_id: int) -> list[Dispensing]:
        stmt = select(DispensingRow).where(DispensingRow.step_record_id == step_record_id)
        return [_dispensing(r) for r in self._s.scalars(stmt.order_by(DispensingRow.id))]

    def by_label(self, label: str) -> Dispensing | None:
        # The newest, should a label ever be printed twice; the label index keeps this a single lookup.
        stmt = select(DispensingRow).where(DispensingRow.label == label).order_by(DispensingRow.id.desc()).limit(1)
        row = self._s.scalars(stmt).first()
        return _dispensing(row) if row else None

    def for_lot(self, material_code: str, lot_number: str) -> list[Dispensing]:
        stmt = select(DispensingRow).where(
            DispensingRow.material_code == material_code, DispensingRow.lot_number == lot_number
        )
        return [_dispensing(r) for r in self._s.scalars(stmt.order_by(DispensingRow.id))]
