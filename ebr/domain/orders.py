"""Production orders: what to make, how much, under which batch id, and the small state machine they follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ebr.domain.errors import InvalidTransition
from ebr.domain.materials import check_code, check_unit, parse_quantity


class OrderStatus(StrEnum):
    """planned → released → in_progress → completed; planned or released may be cancelled."""

    PLANNED = "planned"
    RELEASED = "released"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLANNED: frozenset({OrderStatus.RELEASED, OrderStatus.CANCELLED}),
    OrderStatus.RELEASED: frozenset({OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED}),
    OrderStatus.IN_PROGRESS: frozenset({OrderStatus.COMPLETED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def check_order_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Refuse a move the state machine does not allow, naming both states."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"An order that is {current} cannot become {target}.")


@dataclass(frozen=True)
class ProductionOrder:
    """An order to make one batch of a product."""

    order_number: str
    product_code: str
    planned_quantity: Decimal
    unit: str
    batch_id: str
    status: OrderStatus = OrderStatus.PLANNED
    due_date: date | None = None

    def __post_init__(self) -> None:
        check_code(self.order_number, "Order number")
        check_code(self.product_code, "Product code")
        check_code(self.batch_id, "Batch id")
        parse_quantity(self.planned_quantity, "Planned quantity")
        check_unit(self.unit)
