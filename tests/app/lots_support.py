"""The two-lots example (tests/data/library_extras/workflows/lots_example): paracetamol dispensed from two lots to
targets written for a nominal batch of 10 kg, both containers charged by scanning their labels, then reconciled."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.materials import Container, MaterialLot, QcStatus
from ebr.domain.orders import ProductionOrder
from tests.app.execution_support import Floor, fill, person, seed_floor
from tests.app.masterdata_support import make_procedure_effective
from tests.factories import actor_of, effective_policy

PRODUCT = "LOTS-1"
FIRST, SECOND = "C-PARA-API", "C2-PARA-API"  # one container of each lot of paracetamol
SECOND_LOT, SECOND_EXPIRY = "L2-PARA-API", datetime(2098, 6, 30, tzinfo=UTC).date()


def lots_batch(rt: Runtime, planned: str = "10", unit: str = "kg") -> Floor:
    """The example effective for its product, an order of the planned size released and started, the floor seeded
    with a second released lot of paracetamol besides the first."""
    effective_policy(rt)
    make_procedure_effective(rt, PRODUCT, "lots_example")
    operator, supervisor, qa = person(rt, Role.OPERATOR), person(rt, Role.SUPERVISOR), person(rt, Role.QA)
    order = ProductionOrder("PO-7001", PRODUCT, Decimal(planned), unit, "B-7001")
    stored = rt.services.orders.create(actor_of(supervisor.user), order)
    rt.services.orders.release(actor_of(supervisor.user), stored.id)
    rt.services.batches.start(actor_of(operator.user), stored.id)
    seed_floor(rt)
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test floor set-up")) as uow:
        uow.lots.put(MaterialLot("PARA-API", SECOND_LOT, QcStatus.RELEASED, SECOND_EXPIRY, Decimal("500")), now)
        uow.containers.put(Container(SECOND, "PARA-API", SECOND_LOT, Decimal("50"), "kg"), now)
        uow.commit()
    return Floor(rt, order.batch_id, operator, supervisor, qa)


def dispense_both(floor: Floor, now: datetime) -> tuple[str, str]:
    """Both dispensings on their targets, each verified by the supervisor; the labels of the two new containers."""
    for step_id, container in (("le_dispense_first", FIRST), ("le_dispense_second", SECOND)):
        field = "le1_container" if step_id == "le_dispense_first" else "le2_container"
        fill(floor, step_id, now, **{field: container})
        floor.sign_step(step_id)
        floor.sign_step(step_id, "verified", floor.supervisor)
    labels = [d.label for d in floor.rt.services.execution.batch(floor.batch_id).dispensings]
    assert len(labels) == 2
    return labels[0], labels[1]


def charge_and_reconcile(floor: Floor, now: datetime, labels: tuple[str, str], used: str, waste: str) -> None:
    """The operator scans both dispensed labels as they are charged, and reconciles the paracetamol."""
    first, second = labels
    fill(floor, "le_charge", now, le_charged_first=first, le_charged_second=second, le_used=used, le_waste=waste)
    floor.sign_step("le_charge")
