"""Master data copied from the ERP (materials, lots, containers) and production orders; never deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime

# Quantities are stored as their canonical decimal text: exact on every database, and compared as text by the sync.
QUANTITY = String(32)


class MaterialRow(Base):
    """A material; its code is the ERP's natural key."""

    __tablename__ = "material"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MaterialLotRow(Base):
    """A lot of a material with the QC status and expiry the ERP gave it."""

    __tablename__ = "material_lot"

    material_code: Mapped[str] = mapped_column(ForeignKey("material.code"), primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    qc_status: Mapped[str] = mapped_column(String(16))
    expiry: Mapped[date] = mapped_column(Date)
    quantity: Mapped[str | None] = mapped_column(QUANTITY)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ContainerRow(Base):
    """A labelled container of one lot, identified by its barcode."""

    __tablename__ = "container"
    __table_args__ = (
        ForeignKeyConstraint(
            ["material_code", "lot_number"],
            ["material_lot.material_code", "material_lot.lot_number"],
            name="fk_container_lot_material_lot",
        ),
    )

    barcode: Mapped[str] = mapped_column(String(64), primary_key=True)
    material_code: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProductionOrderRow(Base):
    """An order to make one batch; order number and batch id are each unique."""

    __tablename__ = "production_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    product_code: Mapped[str] = mapped_column(String(64), index=True)
    planned_quantity: Mapped[str] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(8))
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[date | None] = mapped_column(Date)
    procedure_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_version.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    planned_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    planned_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")  # manual | erp
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # of the ERP's order content, to tell a change
