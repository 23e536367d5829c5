"""Row ⇄ domain translation for materials, lots, containers and production orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ebr.adapters.db.models import ContainerRow, MaterialLotRow, MaterialRow, OrderComponentRow, ProductionOrderRow
from ebr.app.ports import OrderPlan, StoredOrder
from ebr.domain.erp import BomLine
from ebr.domain.errors import NotFound
from ebr.domain.materials import Container, Material, MaterialLot, QcStatus, quantity_text
from ebr.domain.orders import OrderStatus, ProductionOrder


class SqlMaterialRepository:
    """Materials by code."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, code: str) -> Material | None:
        row = self._s.get(MaterialRow, code)
        return Material(row.code, row.name, row.unit) if row else None

    def put(self, material: Material, at: datetime) -> None:
        row = self._s.get(MaterialRow, material.code)
        if row is None:
            row = MaterialRow(code=material.code)
            self._s.add(row)
        row.name, row.unit, row.updated_at = material.name, material.unit, at
        self._s.flush()

    def list(self) -> list[Material]:
        rows = self._s.scalars(select(MaterialRow).order_by(MaterialRow.code))
        return [Material(r.code, r.name, r.unit) for r in rows]


def _lot(r: MaterialLotRow) -> MaterialLot:
    quantity = Decimal(r.quantity) if r.quantity is not None else None
    return MaterialLot(r.material_code, r.lot_number, QcStatus(r.qc_status), r.expiry, quantity)


class SqlMaterialLotRepository:
    """Lots by (material code, lot number)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, material_code: str, lot_number: str) -> MaterialLot | None:
        row = self._s.get(MaterialLotRow, (material_code, lot_number))
        return _lot(row) if row else None

    def put(self, lot: MaterialLot, at: datetime) -> None:
        row = self._s.get(MaterialLotRow, (lot.material_code, lot.lot_number))
        if row is None:
            row = MaterialLotRow(material_code=lot.material_code, lot_number=lot.lot_number)
            self._s.add(row)
        row.qc_status, row.expiry, row.updated_at = str(lot.qc_status), lot.expiry, at
        row.quantity = quantity_text(lot.quantity) if lot.quantity is not None else None
        self._s.flush()

    def list(self, material_code: str | None = None) -> list[MaterialLot]:
        stmt = select(MaterialLotRow).order_by(MaterialLotRow.material_code, MaterialLotRow.lot_number)
        if material_code is not None:
            stmt = stmt.where(MaterialLotRow.material_code == material_code)
        return [_lot(r) for r in self._s.scalars(stmt)]


def _container(r: ContainerRow) -> Container:
    return Container(r.barcode, r.material_code, r.lot_number, Decimal(r.quantity), r.unit)


class SqlContainerRepository:
    """Containers by barcode."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, barcode: str) -> Container | None:
        row = self._s.get(ContainerRow, barcode)
        return _container(row) if row else None

    def put(self, container: Container, at: datetime) -> None:
        row = self._s.get(ContainerRow, container.barcode)
        if row is None:
            row = ContainerRow(barcode=container.barcode)
            self._s.add(row)
        row.material_code, row.lot_number = container.material_code, container.lot_number
        row.quantity, row.unit, row.updated_at = quantity_text(container.quantity), container.unit, at
        self._s.flush()

    def list(self) -> list[Container]:
        return [_container(r) for r in self._s.scalars(select(ContainerRow).order_by(ContainerRow.barcode))]


def _order(r: ProductionOrderRow, bom: tuple[BomLine, ...] = ()) -> StoredOrder:
    order = ProductionOrder(
        r.order_number,
        r.product_code,
        Decimal(r.planned_quantity),
        r.unit,
        r.batch_id,
        OrderStatus(r.status),
        r.due_date,
    )
    plan = OrderPlan(r.planned_start, r.planned_end, bom, r.source, r.content_sha256)
    return StoredOrder(
        r.id, order, r.procedure_version_id, r.created_by, r.created_at, r.status_changed_at, r.status_reason, plan
    )


def _bom_line(r: OrderComponentRow) -> BomLine:
    return BomLine(r.material_code, Decimal(r.quantity), r.unit)


class SqlProductionOrderRepository:
    """Production orders with their BOM lines."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, order_id: int) -> ProductionOrderRow:
        row = self._s.get(ProductionOrderRow, order_id)
        if row is None:
            raise NotFound(f"No production order {order_id}.")
        return row

    def _components(self, order_id: int) -> list[OrderComponentRow]:
        stmt = select(OrderComponentRow).where(OrderComponentRow.order_id == order_id).order_by(OrderComponentRow.line)
        return list(self._s.scalars(stmt))

    def _stored(self, row: ProductionOrderRow) -> StoredOrder:
        return _order(row, tuple(_bom_line(c) for c in self._components(row.id)))

    def add(
        self, order: ProductionOrder, created_by: int | None, at: datetime, plan: OrderPlan | None = None
    ) -> StoredOrder:
        row = ProductionOrderRow(
            status=str(order.status),
            due_date=order.due_date,
            created_by=created_by,
            created_at=at,
            status_changed_at=at,
            status_reason="",
            source=(plan or OrderPlan()).source,
        )
        _set_content(row, order, plan or OrderPlan())
        self._s.add(row)
        self._s.flush()  # the id keys the BOM lines and is returned to the caller
        self._set_bom(row.id, (plan or OrderPlan()).bom)
        return self._stored(row)

    def revise(self, order_id: int, order: ProductionOrder, plan: OrderPlan) -> StoredOrder:
        row = self._row(order_id)
        _set_content(row, order, plan)
        self._set_bom(order_id, plan.bom)
        return self._stored(row)

    def _set_bom(self, order_id: int, bom: tuple[BomLine, ...]) -> None:
        """Lines keep their number: a changed line is an update with old and new value, a dropped line a removal."""
        current = {c.line: c for c in self._components(order_id)}
        for number, line in enumerate(bom, start=1):
            row = current.pop(number, None)
            if row is None:
                row = OrderComponentRow(order_id=order_id, line=number)
                self._s.add(row)
            row.material_code, row.quantity, row.unit = line.material_code, quantity_text(line.quantity), line.unit
        for row in current.values():
            self._s.delete(row)
        self._s.flush()  # later reads of the order in this unit of work see its new lines

    def get(self, order_id: int) -> StoredOrder:
        return self._stored(self._row(order_id))

    def by_number(self, order_number: str) -> StoredOrder | None:
        row = self._s.scalars(select(ProductionOrderRow).where(ProductionOrderRow.order_number == order_number)).first()
        return self._stored(row) if row else None

    def by_batch_id(self, batch_id: str) -> StoredOrder | None:
        row = self._s.scalars(select(ProductionOrderRow).where(ProductionOrderRow.batch_id == batch_id)).first()
        return self._stored(row) if row else None

    def set_status(
        self, order_id: int, status: str, at: datetime, reason: str, procedure_version_id: int | None = None
    ) -> None:
        row = self._row(order_id)
        row.status, row.status_changed_at, row.status_reason = status, at, reason
        if procedure_version_id is not None:
            row.procedure_version_id = procedure_version_id

    def list(self, status: str | None = None) -> list[StoredOrder]:
        stmt = select(ProductionOrderRow).order_by(ProductionOrderRow.id.desc())
        if status is not None:
            stmt = stmt.where(ProductionOrderRow.status == status)
        rows = list(self._s.scalars(stmt))
        lines: dict[int, list[BomLine]] = {}
        if rows:
            components = select(OrderComponentRow).where(OrderComponentRow.order_id.in_([r.id for r in rows]))
            for c in self._s.scalars(components.order_by(OrderComponentRow.order_id, OrderComponentRow.line)):
                lines.setdefault(c.order_id, []).append(_bom_line(c))
        return [_order(r, tuple(lines.get(r.id, ()))) for r in rows]


def _set_content(row: ProductionOrderRow, order: ProductionOrder, plan: OrderPlan) -> None:
    """The order's content and what the ERP planned; status and history stay with their own use cases."""
    row.order_number, row.product_code, row.batch_id = order.order_number, order.product_code, order.batch_id
    row.planned_quantity, row.unit = quantity_text(order.planned_quantity), order.unit
    row.planned_start, row.planned_end, row.content_sha256 = plan.planned_start, plan.planned_end, plan.content_sha256
