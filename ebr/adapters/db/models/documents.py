"""Rendered batch-record PDFs: release candidates, released and rejected records, addenda (PDF-06).

A row is written once with the SHA-256 of its bytes; only its status moves from current to superseded when a newer
revision of the same kind replaces it. The database refuses every other change (migration 0010).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class BatchDocumentRow(Base):
    """One rendered PDF of a batch record, with the record hash it was rendered from."""

    __tablename__ = "batch_document"
    __table_args__ = (UniqueConstraint("batch_id", "kind", "revision", name="uq_batch_document_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only when the bytes are asked for
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
