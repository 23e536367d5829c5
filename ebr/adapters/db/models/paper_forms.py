"""Controlled paper forms issued for a step in advance of a system outage (OPS-02)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class PaperFormRow(Base):
    """One numbered paper form: issued once for one step record, never changed (append-only)."""

    __tablename__ = "paper_form"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)  # the site's running number; unique under races
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    step_record_id: Mapped[int] = mapped_column(ForeignKey("step_record.id"), index=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
