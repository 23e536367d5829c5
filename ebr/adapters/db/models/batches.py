"""Batches pinned for life to their procedure version, the engine cursor beside them, and their step records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class BatchRow(Base):
    """One batch of one order, on the procedure version and content hash it started on (VAL-09)."""

    __tablename__ = "batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_order.id"), unique=True)
    product_code: Mapped[str] = mapped_column(String(64), index=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    procedure_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    held_since: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BatchEngineStateRow(Base):
    """The engine cursor of a batch: what is ready next; the evidence lives in the step records."""

    __tablename__ = "batch_engine_state"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    state_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StepRecordRow(Base):
    """One pass of one step of a batch, from the moment it became ready."""

    __tablename__ = "step_record"
    __table_args__ = (
        UniqueConstraint("batch_id", "process_id", "step_id", "iteration", name="uq_step_record_pass"),
        Index("ix_step_record_batch_status", "batch_id", "status"),  # the open steps, however long the batch
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    process_id: Mapped[str] = mapped_column(String(100))
    iteration: Mapped[int] = mapped_column(Integer)
    engine_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    became_ready_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    performed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    performed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The hold window before this step may complete, stamped from the Clock when the step before it completed.
    hold_earliest: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hold_latest: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hold_deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id", use_alter=True))
