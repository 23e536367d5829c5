"""Genealogy from the dispensing records: the lots a batch consumed and the lot it made, and every batch that
consumed a lot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ebr.bootstrap import Runtime
from ebr.domain.errors import NotFound
from ebr.domain.orders import ProductionOrder
from tests.app.execution_support import Floor, advance_to, running_batch
from tests.app.record_support import genealogy_service
from tests.factories import actor_of
from tests.fakes import FakeClock


def second_batch(first: Floor, batch_id: str = "B-9002") -> Floor:
    """Another batch of the same product, run by the same people."""
    rt, planner = first.rt, actor_of(first.supervisor.user)
    order = ProductionOrder(f"PO-{batch_id}", "PARA-500", Decimal("120"), "kg", batch_id)
    stored = rt.services.orders.create(planner, order)
    rt.services.orders.release(planner, stored.id)
    rt.services.batches.start(actor_of(first.operator.user), stored.id)
    return Floor(rt, batch_id, first.operator, first.supervisor, first.qa)


def two_batches_past_dispensing(runtime: Runtime, clock: FakeClock) -> tuple[Floor, Floor]:
    """Two granulation batches that each dispensed the API and the MCC from the same lots."""
    first = running_batch(runtime, "granulation", "PARA-500")
    second = second_batch(first)
    for floor in (first, second):
        advance_to(floor, clock.now(), "dispense_povidone")
    return first, second


def test_a_batch_shows_the_lots_it_consumed_and_the_lot_it_produces(runtime: Runtime, clock: FakeClock) -> None:
    first, _ = two_batches_past_dispensing(runtime, clock)
    found = genealogy_service(runtime).of_batch(first.batch_id)
    assert [(u.material_code, u.lot_number, u.source_container) for u in found.consumed] == [
        ("PARA-API", "L-PARA-API", "C-PARA-API"),
        ("MCC-101", "L-MCC-101", "C-MCC-101"),
    ]
    assert all(
        u.net > 0 and u.label.startswith(f"{first.batch_id}-D") and u.batch_id == first.batch_id for u in found.consumed
    )
    produced = found.produced
    assert (produced.material_code, produced.lot_number, produced.planned_quantity, produced.unit) == (
        "PARA-500",
        first.batch_id,
        Decimal("10"),
        "kg",
    )


def test_a_lot_shows_every_batch_that_consumed_it(runtime: Runtime, clock: FakeClock) -> None:
    first, second = two_batches_past_dispensing(runtime, clock)
    service = genealogy_service(runtime)
    found = service.of_lot("PARA-API", "L-PARA-API")
    assert [u.batch_id for u in found.consumed_by] == [first.batch_id, second.batch_id]
    assert found.produced_by is None  # a supplier's lot
    assert service.of_lot("MGST-01", "L-MGST-01").consumed_by == ()  # not dispensed yet


def test_a_batch_lot_is_traced_back_to_the_batch_that_made_it(runtime: Runtime) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500")
    service = genealogy_service(runtime)
    made = service.of_lot("PARA-500", floor.batch_id).produced_by
    assert made is not None and (made.batch_id, made.status) == (floor.batch_id, "in_progress")
    assert service.of_lot("OTHER", floor.batch_id).produced_by is None  # the lot number of another material


def test_an_unknown_batch_has_no_genealogy(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        genealogy_service(runtime).of_batch("B-NONE")
