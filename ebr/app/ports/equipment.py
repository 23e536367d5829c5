"""Ports of equipment: reading a device, instances and their logbook, uses, scan checks and dispensed material."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ebr.domain.equipment import Endpoint, RawRead
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.steps import TagDefinition


class DeviceReader(Protocol):
    """Reads tags from a device; never inside a database transaction. Transport and protocol failures raise DeviceFault
    (unreachable, timeout after timeout x (retries + 1), exception response); decoding is the domain's."""

    def read(self, endpoint: Endpoint, tags: Sequence[TagDefinition]) -> tuple[RawRead, ...]: ...


@dataclass(frozen=True)
class StoredEquipment:
    """An instance as stored, with the optimistic-lock version every change must quote."""

    id: int
    instance: EquipmentInstance
    version: int
    created_at: datetime
    updated_at: datetime


class EquipmentRepository(Protocol):
    """Equipment instances keyed by code; never deleted (taken out of service instead)."""

    def add(self, instance: EquipmentInstance, at: datetime) -> StoredEquipment: ...
    def get(self, code: str) -> StoredEquipment | None: ...
    def update(self, instance: EquipmentInstance, expected_version: int, at: datetime) -> StoredEquipment: ...
    def list(self, class_id: str | None = None) -> list[StoredEquipment]: ...


@dataclass(frozen=True)
class LogbookEntry:
    """A cleaning, calibration or qualification recorded for an instance; it takes effect only when signed."""

    id: int
    equipment_code: str
    kind: str  # cleaned | calibrated | qualified | soiled
    detail: str
    valid_until: str  # ISO date or date-time the entry is good until ("" when it has none)
    requested_by: int
    requested_at: datetime
    status: str  # pending | applied | withdrawn
    signature_id: int | None = None
    applied_at: datetime | None = None


class LogbookRepository(Protocol):
    """Logbook entries; append-only except their status."""

    def add(self, entry: LogbookEntry) -> LogbookEntry: ...
    def get(self, entry_id: int) -> LogbookEntry: ...
    def set_applied(self, entry_id: int, signature_id: int, at: datetime) -> None: ...
    def for_equipment(self, code: str) -> list[LogbookEntry]: ...


@dataclass(frozen=True)
class EquipmentUse:
    """One use of an instance by a batch step, with its status at that moment (211.188(b)(2), EU 4.20(e))."""

    id: int
    equipment_code: str
    class_id: str
    batch_id: int
    step_record_id: int
    field_id: str  # the scan field, or "" for the step's own equipment scan
    used_at: datetime
    used_by: int
    terminal: str
    status: str


class EquipmentUseRepository(Protocol):
    """Uses of equipment; append-only."""

    def add(self, use: EquipmentUse) -> EquipmentUse: ...
    def for_batch(self, batch_id: int) -> list[EquipmentUse]: ...
    def for_step(self, step_record_id: int) -> list[EquipmentUse]: ...
    def for_equipment(self, code: str) -> list[EquipmentUse]: ...


@dataclass(frozen=True)
class IdentityCheck:
    """A scan and its outcome, passed or refused with its reason (SEQ-07); refused ones are review exceptions."""

    id: int
    batch_id: int
    step_record_id: int
    field_id: str
    kind: str  # equipment | material_lot
    barcode: str
    passed: bool
    reason: str
    checked_at: datetime
    checked_by: int
    terminal: str
    deviation_id: int | None = None


class IdentityCheckRepository(Protocol):
    """Scan checks; append-only."""

    def add(self, check: IdentityCheck) -> IdentityCheck: ...
    def for_batch(self, batch_id: int) -> list[IdentityCheck]: ...
    def for_step(self, step_record_id: int) -> list[IdentityCheck]: ...


@dataclass(frozen=True)
class Dispensing:
    """Material weighed out for a batch from a source container into a new labelled one (weigh and dispense)."""

    id: int
    batch_id: int
    step_record_id: int
    material_code: str
    lot_number: str
    source_container: str
    label: str  # the barcode of the dispensed container
    tare: Decimal
    gross: Decimal
    net: Decimal
    unit: str
    target: Decimal
    tolerance: Decimal
    within: bool
    equipment_code: str
    dispensed_at: datetime
    dispensed_by: int
    terminal: str
    deviation_id: int | None = None


class DispensingRepository(Protocol):
    """Dispensed material; append-only."""

    def add(self, dispensing: Dispensing) -> Dispensing: ...
    def for_batch(self, batch_id: int) -> list[Dispensing]: ...
    def for_step(self, step_record_id: int) -> list[Dispensing]: ...
    def by_label(self, label: str) -> Dispensing | None: ...
    def for_lot(self, material_code: str, lot_number: str) -> list[Dispensing]: ...
