"""Ports of master data and production orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
class StoredOrder:
    """A production order as stored, with its id and status history fields."""

    id: int
    order: ProductionOrder
    procedure_version_id: int | None
    created_by: int | None
    created_at: datetime
    status_changed_at: datetime
    status_reason: str


class ProductionOrderRepository(Protocol):
    """Production orders; order number and batch id are unique; never deleted."""

    def add(self, order: ProductionOrder, created_by: int | None, at: datetime) -> StoredOrder: ...
    def get(self, order_id: int) -> StoredOrder: ...
    def by_number(self, order_number: str) -> StoredOrder | None: ...
    def by_batch_id(self, batch_id: str) -> StoredOrder | None: ...
    def set_status(
        self, order_id: int, status: str, at: datetime, reason: str, procedure_version_id: int | None = None
    ) -> None: ...
    def list(self, status: str | None = None) -> list[StoredOrder]: ...
