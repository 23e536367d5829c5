"""Procedure versions, their frozen bundle files, and which version is effective for each product."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class ProcedureVersionRow(Base):
    """One version of a procedure; its content is the bundle, immutable once submitted."""

    __tablename__ = "procedure_version"
    __table_args__ = (UniqueConstraint("procedure_id", "version", name="uq_procedure_version_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_reason: Mapped[str] = mapped_column(Text, default="")


class BundleFileRow(Base):
    """One file of a version's bundle, stored with its hash; append-only."""

    __tablename__ = "bundle_file"

    version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProductProcedureRow(Base):
    """Which procedure version makes a product from when; at most one current mapping per product."""

    __tablename__ = "product_procedure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


Index(
    "uq_product_procedure_current",
    ProductProcedureRow.product_code,
    unique=True,
    sqlite_where=ProductProcedureRow.ended_at.is_(None),
    postgresql_where=ProductProcedureRow.ended_at.is_(None),
)
