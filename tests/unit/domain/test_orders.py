"""Pure production order rules: fields and the state machine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ebr.domain.errors import InvalidInput, InvalidTransition
from ebr.domain.orders import TRANSITIONS, OrderStatus, ProductionOrder, check_order_transition


def order(**change: object) -> ProductionOrder:
    fields: dict[str, object] = {
        "order_number": "PO-1001",
        "product_code": "PARA-500",
        "planned_quantity": Decimal("120"),
        "unit": "kg",
        "batch_id": "B-2026-001",
        "due_date": date(2026, 12, 1),
    }
    return ProductionOrder(**{**fields, **change})  # type: ignore[arg-type]  # keyword fields checked by the class


def test_a_new_order_is_planned() -> None:
    assert order().status is OrderStatus.PLANNED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"planned_quantity": Decimal("-5")}, "Planned quantity must be a positive number"),
        ({"planned_quantity": Decimal("0")}, "Planned quantity must be a positive number"),
        ({"unit": "barrels"}, "Unknown unit 'barrels'"),
        ({"batch_id": "B 1"}, "Batch id"),
        ({"order_number": ""}, "Order number"),
        ({"product_code": "PARA 500"}, "Product code"),
    ],
)
def test_bad_order_fields_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        order(**change)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.PLANNED, OrderStatus.RELEASED),
        (OrderStatus.PLANNED, OrderStatus.CANCELLED),
        (OrderStatus.RELEASED, OrderStatus.IN_PROGRESS),
        (OrderStatus.RELEASED, OrderStatus.CANCELLED),
        (OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED),
    ],
)
def test_the_allowed_moves(current: OrderStatus, target: OrderStatus) -> None:
    check_order_transition(current, target)


def test_every_other_move_is_refused_naming_both_states() -> None:
    allowed = {(c, t) for c, targets in TRANSITIONS.items() for t in targets}
    refused = [(c, t) for c in OrderStatus for t in OrderStatus if (c, t) not in allowed]
    assert (OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED) in refused
    assert (OrderStatus.CANCELLED, OrderStatus.RELEASED) in refused
    for current, target in refused:
        with pytest.raises(InvalidTransition, match=f"An order that is {current} cannot become {target}"):
            check_order_transition(current, target)


def test_completed_and_cancelled_orders_are_final() -> None:
    assert TRANSITIONS[OrderStatus.COMPLETED] == frozenset()
    assert TRANSITIONS[OrderStatus.CANCELLED] == frozenset()
