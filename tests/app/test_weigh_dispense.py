"""Weigh and dispense against the simulated floor scale: tare and gross captured, the net calculated and checked
against its target, the source container checked, and a labelled container of the same lot recorded (SEQ-07)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime
from ebr.domain.equipment import Endpoint
from tests.app.execution_support import Floor, advance_to, instance_code, running_batch


def _at_dispensing(runtime: Runtime, plant: SimulatedPlant) -> Floor:
    floor = running_batch(runtime, "granulation", "PARA-500", endpoint=Endpoint("127.0.0.1", plant.port, 1, 0.5, 0))
    advance_to(floor, runtime.services.clock.now(), "dispense_api")
    return floor


def _weigh(floor: Floor, plant: SimulatedPlant, gross: str, tare: str = "0.300") -> None:
    floor.enter("dispense_api", api_lot="C-PARA-API", api_containers="4")
    plant.place(gross=Decimal(gross), tare=Decimal(tare))
    floor.capture("dispense_api", "api_tare")
    floor.capture("dispense_api", "api_gross")
    floor.sign_step("dispense_api")


def test_a_dispensing_records_the_lot_the_weights_and_a_new_labelled_container(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = _at_dispensing(runtime, plant)
    _weigh(floor, plant, gross="100.350", tare="0.300")
    [done] = runtime.services.execution.batch(floor.batch_id).dispensings
    assert (done.material_code, done.lot_number, done.source_container) == ("PARA-API", "L-PARA-API", "C-PARA-API")
    assert (done.tare, done.gross, done.net, done.unit) == (
        Decimal("0.300"),
        Decimal("100.350"),
        Decimal("100.050"),
        "kg",
    )
    assert (done.target, done.tolerance, done.within, done.deviation_id) == (
        Decimal("100.000"),
        Decimal("0.100"),
        True,
        None,
    )
    assert done.equipment_code == instance_code("balance") and done.dispensed_by == floor.operator.user.id
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        label = uow.containers.get(done.label)
    assert label is not None and (label.lot_number, label.quantity) == ("L-PARA-API", Decimal("100.050"))


@pytest.mark.req("SEQ-07")
def test_a_net_outside_the_tolerance_opens_a_deviation_linked_to_the_dispensing(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = _at_dispensing(runtime, plant)
    _weigh(floor, plant, gross="100.450", tare="0.300")  # net 100.150 against 100.000 +/- 0.100
    view = runtime.services.execution.batch(floor.batch_id)
    [done] = view.dispensings
    deviation = next(d for d in view.deviations if d.id == done.deviation_id)
    assert not done.within and deviation.kind == "out_of_limit" and deviation.field_id == "api_mass"
    assert deviation.step_record_id == done.step_record_id


def test_the_scale_readings_of_a_dispensing_come_from_the_device_not_from_typing(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = _at_dispensing(runtime, plant)
    _weigh(floor, plant, gross="100.300")
    record = next(
        line.record
        for line in runtime.services.execution.batch(floor.batch_id).steps
        if line.record.step_id == "dispense_api"
    )
    view = runtime.services.execution.step(floor.batch_id, record.id)
    sources = {fv.field.id: fv.current.source for fv in view.fields if fv.current is not None}
    assert sources == {
        "api_lot": "typed",
        "api_tare": "device",
        "api_gross": "device",
        "api_mass": "calculated",
        "api_containers": "typed",
    }
