"""The evidence of execution: values as entered, deviations, signed batch actions, yields, holds and incidents.

These rows are the batch record; the engine cursor beside them only says what is ready next.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime

EMPTY = text("''")  # as a SQL literal: Alembic compares an empty plain-string default as changed on SQLite


class StepValueRow(Base):
    """One value as entered; a change is a new row that supersedes the old, which stays (AUD-04)."""

    __tablename__ = "step_value"
    __table_args__ = (Index("ix_step_value_batch_field", "batch_id", "field_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    captured_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
    raw: Mapped[str] = mapped_column(String(200), default="")
    device_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    override_reason: Mapped[str] = mapped_column(Text, default="")
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    within_limits: Mapped[bool | None] = mapped_column(Boolean)
    limit_text: Mapped[str] = mapped_column(String(200), default="")
    double_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("step_value.id"))
    change_reason: Mapped[str] = mapped_column(Text, default="")
    after_signing: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))
    # A device value names the instance and tag it came from and how it was read (DEV-01); "" for other values.
    equipment_code: Mapped[str] = mapped_column(String(64), default="", server_default=EMPTY)
    tag: Mapped[str] = mapped_column(String(64), default="", server_default=EMPTY)
    quality: Mapped[str] = mapped_column(String(16), default="", server_default=EMPTY)
    device_detail: Mapped[str] = mapped_column(Text, default="", server_default=EMPTY)
    # A void of an unsigned entry is a row superseding it with no value and this reason; "" for any other row.
    void_reason: Mapped[str] = mapped_column(Text, default="", server_default=EMPTY)
    # An entry transcribed from a controlled paper form names the form (OPS-02); "" for any other row.
    paper_form: Mapped[str] = mapped_column(String(32), default="", server_default=EMPTY)


class DeviationRow(Base):
    """A deviation linked to its batch and step, through its disposition and closure (QA-01)."""

    __tablename__ = "deviation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int | None] = mapped_column(ForeignKey("step_record.id"))
    field_id: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    immediate_action: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16))
    disposition: Mapped[str] = mapped_column(String(16), default="")
    impact: Mapped[str] = mapped_column(Text, default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closure_summary: Mapped[str] = mapped_column(Text, default="")
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class BatchActionRow(Base):
    """A requested act on a batch or step (hold, resume, skip, reassign, cancel, correct, disposition, close):
    it takes effect only when signed, so nothing about a batch changes by a silent data edit."""

    __tablename__ = "batch_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int | None] = mapped_column(ForeignKey("step_record.id"))
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))


class BatchYieldRow(Base):
    """Produced, scrap and sample quantities and the yield against theoretical, as structured data (SEQ-10)."""

    __tablename__ = "batch_yield"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"))
    unit: Mapped[str] = mapped_column(String(32))
    produced: Mapped[str] = mapped_column(String(64))
    scrap: Mapped[str] = mapped_column(String(64))
    samples: Mapped[str] = mapped_column(String(64))
    theoretical: Mapped[str] = mapped_column(String(64))
    yield_percent: Mapped[str] = mapped_column(String(64))
    low: Mapped[str] = mapped_column(String(64), default="")
    high: Mapped[str] = mapped_column(String(64), default="")
    within: Mapped[bool] = mapped_column(Boolean)
    formula: Mapped[str] = mapped_column(String(200))
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class MaterialReconciliationRow(Base):
    """Issued - used - returned - waste for one material of a batch (211.184(c))."""

    __tablename__ = "material_reconciliation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"))
    material_code: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    issued: Mapped[str] = mapped_column(String(64))
    used: Mapped[str] = mapped_column(String(64))
    returned: Mapped[str] = mapped_column(String(64))
    waste: Mapped[str] = mapped_column(String(64))
    discrepancy: Mapped[str] = mapped_column(String(64))
    formula: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lots: Mapped[str] = mapped_column(Text, default="", server_default=EMPTY)


class IncidentRow(Base):
    """Something people must know about now (an overdue hold, a failed check, a dead message); notified once."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The request or act it came from, and how often the same fault recurred while it stayed open (OPS-01).
    correlation_id: Mapped[str] = mapped_column(String(64), default="", server_default=EMPTY)
    occurrences: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TrainingRecordRow(Base):
    """A person's current training on a course; steps may require it (ACC-09)."""

    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TerminalRow(Base):
    """A registered terminal (a kiosk at the unit); steps may be restricted to registered terminals (DEV-05)."""

    __tablename__ = "terminal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
