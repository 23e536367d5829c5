"""Production orders from the ERP: created planned, updated until their batch starts, otherwise refused with the reason.

The ERP owns the order (MISSION.md, master data ownership): a new order number creates a planned order, the same
content again changes nothing, and changed content replaces quantity, unit, batch id, dates and BOM while the order is
planned or released and its batch has not started. Every rule runs inside the caller's unit of work.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import datetime

from ebr.app.ports import OrderPlan, StoredOrder, UnitOfWork
from ebr.domain.audit import to_utc_text
from ebr.domain.erp import InboundOrder
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.materials import quantity_text
from ebr.domain.orders import OrderStatus, ProductionOrder
from ebr.domain.signatures import canonical_json

ERP = "erp"
CHANGEABLE = frozenset({OrderStatus.PLANNED, OrderStatus.RELEASED})
Result = dict[str, object]


def order_content(order: InboundOrder) -> dict[str, object]:
    """The order as the ERP meant it, in canonical form: 10.50 and 10.5 kg, or two zones of one instant, are equal."""
    return {
        "order_number": order.order_number,
        "product_code": order.product_code,
        "planned_quantity": quantity_text(order.planned_quantity),
        "unit": order.unit,
        "batch_id": order.batch_id,
        "planned_start": to_utc_text(order.planned_start) if order.planned_start else None,
        "planned_end": to_utc_text(order.planned_end) if order.planned_end else None,
        "bom": [
            {"material_code": line.material_code, "quantity": quantity_text(line.quantity), "unit": line.unit}
            for line in order.bom
        ],
    }


def order_digest(order: InboundOrder) -> str:
    """SHA-256 of the order's canonical content: stored with the order to tell a change from a repeat."""
    return hashlib.sha256(canonical_json(order_content(order))).hexdigest()


def apply_orders(uow: UnitOfWork, orders: tuple[InboundOrder, ...], at: datetime) -> list[Result]:
    """Create or update every order of one message, or refuse the message as a whole."""
    check_distinct("order number", [o.order_number for o in orders])
    check_distinct("batch id", [o.batch_id for o in orders])
    return [apply_order(uow, order, at) for order in orders]


def apply_order(uow: UnitOfWork, order: InboundOrder, at: datetime) -> Result:
    """Create the order, leave it unchanged, or update it while its batch has not started."""
    check_known(uow, order)
    digest = order_digest(order)
    plan = OrderPlan(order.planned_start, order.planned_end, order.bom, ERP, digest)
    content = ProductionOrder(
        order.order_number, order.product_code, order.planned_quantity, order.unit, order.batch_id
    )
    current = uow.orders.by_number(order.order_number)
    if current is None:
        _check_batch_id_free(uow, order, None)
        return _result(uow.orders.add(content, None, at, plan), "created")
    if current.source != ERP:
        raise Conflict(f"Order {order.order_number} was entered in the eBR by hand; the ERP cannot change it.")
    if current.content_sha256 == digest:
        return _result(current, "unchanged")
    _check_changeable(uow, current, order)
    _check_batch_id_free(uow, order, current.id)
    kept = replace(content, status=current.order.status, due_date=current.order.due_date)
    return _result(uow.orders.revise(current.id, kept, plan), "updated")


def check_known(uow: UnitOfWork, order: InboundOrder) -> None:
    """The product and every BOM material must be known, each counted in the unit the order uses."""
    product = uow.materials.get(order.product_code)
    if product is None and uow.procedures.product_version(order.product_code) is None:
        raise InvalidInput(
            f"Order {order.order_number}: unknown product {order.product_code}: no material and no procedure "
            "mapping is known under that code."
        )
    if product is not None and product.unit != order.unit:
        raise InvalidInput(
            f"Order {order.order_number}: product {product.code} is counted in {product.unit}, not {order.unit}."
        )
    unknown = [line.material_code for line in order.bom if uow.materials.get(line.material_code) is None]
    if unknown:
        raise InvalidInput(
            f"Order {order.order_number}: unknown BOM material {', '.join(dict.fromkeys(unknown))}: "
            "send its master data first."
        )
    for line in order.bom:
        material = uow.materials.get(line.material_code)
        if material is not None and material.unit != line.unit:
            raise InvalidInput(
                f"Order {order.order_number}: BOM material {line.material_code} is counted in {material.unit}, "
                f"not {line.unit}."
            )


def _check_changeable(uow: UnitOfWork, current: StoredOrder, order: InboundOrder) -> None:
    status = current.order.status
    number = current.order.order_number
    batch = uow.batches.by_order(current.id)
    if batch is not None or status in (OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED):
        raise Conflict(
            f"Order {number} cannot change: its batch {current.order.batch_id} has started (order {status})."
        )
    if status not in CHANGEABLE:
        raise Conflict(f"Order {number} is {status}; the ERP cannot change it.")
    if status is OrderStatus.RELEASED and order.product_code != current.order.product_code:
        raise Conflict(
            f"Order {number} is released for product {current.order.product_code}: cancel it and send a new order "
            f"for {order.product_code}."
        )


def _check_batch_id_free(uow: UnitOfWork, order: InboundOrder, own_id: int | None) -> None:
    other = uow.orders.by_batch_id(order.batch_id)
    if other is not None and other.id != own_id:
        raise Conflict(
            f"Order {order.order_number}: batch id {order.batch_id} is already used by order "
            f"{other.order.order_number}."
        )


def check_distinct(what: str, values: list[str]) -> None:
    """Refuse a message that names one key twice: which of the two would win is anyone's guess."""
    doubled = [value for value, n in Counter(values).items() if n > 1]
    if doubled:
        raise InvalidInput(f"The message names the {what} {doubled[0]} more than once.")


def _result(stored: StoredOrder, outcome: str) -> Result:
    return {
        "order_number": stored.order.order_number,
        "order_id": stored.id,
        "batch_id": stored.order.batch_id,
        "order_status": str(stored.order.status),
        "outcome": outcome,
    }


def order_view(uow: UnitOfWork, stored: StoredOrder) -> Result:
    """An order as the ERP may read it back: content, plan, status and its batch's status once started."""
    batch = uow.batches.by_order(stored.id)
    order = stored.order
    return {
        "order_number": order.order_number,
        "order_id": stored.id,
        "product_code": order.product_code,
        "planned_quantity": quantity_text(order.planned_quantity),
        "unit": order.unit,
        "batch_id": order.batch_id,
        "status": str(order.status),
        "status_changed_at": to_utc_text(stored.status_changed_at),
        "source": stored.source,
        "planned_start": to_utc_text(stored.planned_start) if stored.planned_start else None,
        "planned_end": to_utc_text(stored.planned_end) if stored.planned_end else None,
        "bom": [
            {"material_code": line.material_code, "quantity": quantity_text(line.quantity), "unit": line.unit}
            for line in stored.bom
        ],
        "batch_status": str(batch.batch.status) if batch else None,
    }
