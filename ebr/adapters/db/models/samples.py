"""Samples pulled from batches and files attached to step fields (label specimens); both append-only (migration
0012 refuses every UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class BatchSampleRow(Base):
    """A sample with its own ID, taken when its sampling step was signed (211.188(b)(10))."""

    __tablename__ = "batch_sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    sample_id: Mapped[str] = mapped_column(String(80), unique=True)
    quantity: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(2000))
    result_required: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime)
    taken_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StepAttachmentRow(Base):
    """A file uploaded to a step's attachment field, kept with its SHA-256 (the step's value names that hash)."""

    __tablename__ = "step_attachment"
    __table_args__ = (UniqueConstraint("step_record_id", "field_id", "sha256", name="uq_step_attachment_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    field_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only when the bytes are asked for
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    terminal: Mapped[str] = mapped_column(String(200))
