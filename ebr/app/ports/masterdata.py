"""Ports of master data and production orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.domain.erp import BomLine
from ebr.domain.materials import Container, Material, MaterialLot
from ebr.domain.orders import ProductionOrder


class MaterialRepository(Protocol):
    """Materials copied from the ERP, keyed by code; never deleted."""

    def get(self, code: str) -> Material | None: ...
    def put(self, material: Material, at: datetime) -> None: ...
    def list(self) -> list[Material]: ...


class MaterialLotRepository(Protocol):
    """Lots keyed by (material code, lot number); never deleted."""

    def get(self, material_code: str, lot_number: str) -> MaterialLot | None: ...
    def put(self, lot: MaterialLot, at: datetime) -> None: ...
    def list(self, material_code: str | None = None) -> list[MaterialLot]: ...


class ContainerRepository(Protocol):
    """Containers keyed by barcode; never deleted."""

    def get(self, barcode: str) -> Container | None: ...
    def put(self, container: Container, at: datetime) -> None: ...
    def list(self) -> list[Container]: ...


@dataclass(frozen=True)
class OrderPlan:
    """What the ERP planned beyond the order itself: dates, components, and the hash of the content it sent."""

    planned_start: datetime | None = None
    planned_end: datetime | None = None
    bom: tuple[BomLine, ...] = ()
    source: str = "manual"  # manual | erp
    content_sha256: str | None = None


@dataclass(frozen=True)
class StoredOrder:
    """A production order as stored, with its id, status history fields and what the ERP planned."""

    id: int
    order: ProductionOrder
    procedure_version_id: int | None
    created_by: int | None
    created_at: datetime
    status_changed_at: datetime
    status_reason: str
    plan: OrderPlan = OrderPlan()

    @property
    def bom(self) -> tuple[BomLine, ...]:
        """The components the order plans to consume (ERP orders only)."""
        return self.plan.bom

    @property
    def planned_start(self) -> datetime | None:
        """When the ERP plans the batch to start."""
        return self.plan.planned_start

    @property
    def planned_end(self) -> datetime | None:
        """When the ERP plans the batch to end."""
        return self.plan.planned_end

    @property
    def source(self) -> str:
        """manual (entered in the eBR) or erp (received from the ERP)."""
        return self.plan.source

    @property
    def content_sha256(self) -> str | None:
        """SHA-256 of the order content the ERP last sent; None for a manual order."""
        return self.plan.content_sha256


class ProductionOrderRepository(Protocol):
    """Production orders; order number and batch id are unique; never deleted."""

    def add(
        self, order: ProductionOrder, created_by: int | None, at: datetime, plan: OrderPlan | None = None
    ) -> StoredOrder: ...
    def revise(self, order_id: int, order: ProductionOrder, plan: OrderPlan) -> StoredOrder: ...
    def get(self, order_id: int) -> StoredOrder: ...
    def by_number(self, order_number: str) -> StoredOrder | None: ...
    def by_batch_id(self, batch_id: str) -> StoredOrder | None: ...
    def set_status(
        self, order_id: int, status: str, at: datetime, reason: str, procedure_version_id: int | None = None
    ) -> None: ...
    def list(self, status: str | None = None) -> list[StoredOrder]: ...
