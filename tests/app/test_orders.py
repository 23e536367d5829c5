"""Production orders: created planned, released only onto an effective procedure, cancelled with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from ebr.domain.orders import OrderStatus, ProductionOrder
from tests.app.masterdata_support import make_procedure_effective, trail
from tests.factories import actor_of, make_user

ORDER = ProductionOrder("PO-1001", "PARA-500", Decimal("120"), "kg", "B-2026-001", due_date=date(2026, 12, 1))


@pytest.fixture
def supervisor(runtime: Runtime) -> User:
    return make_user(runtime, Role.SUPERVISOR)


def test_an_order_is_created_planned_and_audited(runtime: Runtime, supervisor: User) -> None:
    stored = runtime.services.orders.create(actor_of(supervisor), ORDER, "ERP order received")
    assert stored.order == ORDER and stored.created_by == supervisor.id
    entries = trail(runtime, "production_order", str(stored.id))
    assert [(e.draft.action, e.draft.reason) for e in entries] == [("create", "ERP order received")]
    assert '"batch_id": "B-2026-001"' in (entries[0].draft.new_value or "")
    assert runtime.services.orders.list() == [stored]


def test_a_duplicate_batch_id_or_order_number_is_refused_and_nothing_is_stored(
    runtime: Runtime, supervisor: User
) -> None:
    orders = runtime.services.orders
    first = orders.create(actor_of(supervisor), ORDER)
    with pytest.raises(InvalidInput, match="Batch id B-2026-001 is already used"):
        orders.create(actor_of(supervisor), replace(ORDER, order_number="PO-1002"))
    with pytest.raises(InvalidInput, match="Order number PO-1001 already exists"):
        orders.create(actor_of(supervisor), replace(ORDER, batch_id="B-2026-002"))
    assert orders.list() == [first]


def test_an_order_cannot_be_released_without_an_effective_procedure_version(runtime: Runtime, supervisor: User) -> None:
    stored = runtime.services.orders.create(actor_of(supervisor), ORDER)
    with pytest.raises(Conflict, match="product PARA-500 has no effective procedure version"):
        runtime.services.orders.release(actor_of(supervisor), stored.id)
    assert runtime.services.orders.get(stored.id).order.status is OrderStatus.PLANNED
    version_id = make_procedure_effective(runtime, "PARA-500")
    released = runtime.services.orders.release(actor_of(supervisor), stored.id)
    assert (released.order.status, released.procedure_version_id) == (OrderStatus.RELEASED, version_id)
    status = [e.draft for e in trail(runtime, "production_order", str(stored.id)) if e.draft.field == "status"]
    assert [(d.old_value, d.new_value, d.reason) for d in status] == [("planned", "released", "released for execution")]


def test_a_retired_mapping_does_not_release_an_order(runtime: Runtime, supervisor: User) -> None:
    version_id = make_procedure_effective(runtime, "PARA-500")
    qa = make_user(runtime, Role.QA)
    runtime.services.procedures.retire(actor_of(qa), version_id, "withdrawn")
    stored = runtime.services.orders.create(actor_of(supervisor), ORDER)
    with pytest.raises(Conflict, match="no effective procedure version"):
        runtime.services.orders.release(actor_of(supervisor), stored.id)


def test_cancel_needs_a_reason_and_ends_the_order(runtime: Runtime, supervisor: User) -> None:
    orders = runtime.services.orders
    stored = orders.create(actor_of(supervisor), ORDER)
    with pytest.raises(InvalidInput, match="reason"):
        orders.cancel(actor_of(supervisor), stored.id, "")
    cancelled = orders.cancel(actor_of(supervisor), stored.id, "customer withdrew the order")
    assert (cancelled.order.status, cancelled.status_reason) == (OrderStatus.CANCELLED, "customer withdrew the order")
    make_procedure_effective(runtime, "PARA-500")
    with pytest.raises(InvalidTransition, match="cancelled cannot become released"):
        orders.release(actor_of(supervisor), stored.id)
    with pytest.raises(InvalidTransition, match="cancelled cannot become cancelled"):
        orders.cancel(actor_of(supervisor), stored.id, "again")


def test_a_released_order_cannot_be_released_again(runtime: Runtime, supervisor: User) -> None:
    make_procedure_effective(runtime, "PARA-500")
    stored = runtime.services.orders.create(actor_of(supervisor), ORDER)
    runtime.services.orders.release(actor_of(supervisor), stored.id)
    with pytest.raises(InvalidTransition, match="released cannot become released"):
        runtime.services.orders.release(actor_of(supervisor), stored.id)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN, Role.QA, Role.ENGINEER])
def test_only_a_supervisor_or_the_system_manages_orders(runtime: Runtime, role: Role) -> None:
    who = actor_of(make_user(runtime, role))
    with pytest.raises(PermissionDenied, match="order.manage"):
        runtime.services.orders.create(who, ORDER)
    assert runtime.services.orders.list() == []
    stored = runtime.services.orders.create(Actor.system(), ORDER, "ERP order received")
    with pytest.raises(PermissionDenied):
        runtime.services.orders.cancel(who, stored.id, "not mine to cancel")
    assert runtime.services.orders.get(stored.id).order.status is OrderStatus.PLANNED
