"""Equipment instances, their logbook, and the equipment evidence of execution: uses, scan checks, dispensing.

Instances and logbook entries are never deleted (an instance is taken out of service); uses, checks and dispensed
material are append-only. Decimals are stored as their exact text, like every other quantity.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime

CODE = String(64)
DECIMAL = String(64)  # str(Decimal): exact, and keeps the places the balance reported


class EquipmentRow(Base):
    """One instance (which balance, which dryer): its class, device endpoint and status (master data, MISSION.md)."""

    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(CODE, unique=True)
    class_id: Mapped[str] = mapped_column(CODE, index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str | None] = mapped_column(String(253))
    port: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    retries: Mapped[int | None] = mapped_column(Integer)
    in_service: Mapped[bool] = mapped_column(Boolean)
    clean: Mapped[bool] = mapped_column(Boolean)
    clean_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    calibration_due: Mapped[date | None] = mapped_column(Date)
    qualified_until: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EquipmentLogRow(Base):
    """A logbook entry (cleaned, calibrated, qualified, soiled); a signed kind changes the instance when signed."""

    __tablename__ = "equipment_log"
    __table_args__ = (Index("ix_equipment_log_equipment", "equipment_code", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_code: Mapped[str] = mapped_column(ForeignKey("equipment.code"))
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class EquipmentUseRow(Base):
    """One use of an instance by a batch step, with its status at that moment (211.188(b)(2))."""

    __tablename__ = "equipment_use"
    __table_args__ = (Index("ix_equipment_use_equipment", "equipment_code", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_code: Mapped[str] = mapped_column(ForeignKey("equipment.code"))
    class_id: Mapped[str] = mapped_column(CODE)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    used_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(Text)


class IdentityCheckRow(Base):
    """A scan and its outcome (SEQ-07); the barcode is kept as scanned, even when it names nothing known."""

    __tablename__ = "identity_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    barcode: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))


class DispensingRow(Base):
    """Material weighed from a source container into a new labelled one, with tare, gross and net (weigh and
    dispense); the label is looked up when the container is scanned later."""

    __tablename__ = "dispensing"
    __table_args__ = (Index("ix_dispensing_lot", "material_code", "lot_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    material_code: Mapped[str] = mapped_column(CODE)
    lot_number: Mapped[str] = mapped_column(CODE)
    source_container: Mapped[str] = mapped_column(CODE)
    label: Mapped[str] = mapped_column(CODE, index=True)
    tare: Mapped[str] = mapped_column(DECIMAL)
    gross: Mapped[str] = mapped_column(DECIMAL)
    net: Mapped[str] = mapped_column(DECIMAL)
    unit: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(DECIMAL)
    tolerance: Mapped[str] = mapped_column(DECIMAL)
    within: Mapped[bool] = mapped_column(Boolean)
    equipment_code: Mapped[str] = mapped_column(CODE)
    dispensed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dispensed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))
