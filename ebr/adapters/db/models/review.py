"""QA review and release: acknowledgements of exceptions, audit-trail reviews, release decisions and addenda.

Every row is append-only: a later acknowledgement is a new mark, a decision takes effect by its signature, an
addendum never changes what it adds to (SEQ-05, QA-05).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class ReviewMarkRow(Base):
    """A reviewer's acknowledgement of one exception of a batch, with their comment (QA-03)."""

    __tablename__ = "review_mark"
    __table_args__ = (Index("ix_review_mark_batch_key", "batch_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    key: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    marked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrailReviewRow(Base):
    """The batch's audit trail as a reviewer opened it (its last entry), signed 'reviewed' (AUD-09)."""

    __tablename__ = "trail_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    head_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BatchDecisionRow(Base):
    """A release or rejection with its reason, requested by QA; applied by its signature (QA-04)."""

    __tablename__ = "batch_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BatchAddendumRow(Base):
    """Information added to a decided batch as its own signed entity (QA-05)."""

    __tablename__ = "batch_addendum"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    added_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
