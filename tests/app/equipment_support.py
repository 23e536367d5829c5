"""A quick check running against the simulated plant: its balance answers on a loopback Modbus port."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import StoredValue
from ebr.bootstrap import Runtime
from ebr.domain.equipment import Endpoint
from tests.app.execution_support import KIOSK, Floor, advance_to, instance_code, running_batch
from tests.factories import actor_of

BALANCE = instance_code("balance")


def endpoint_of(plant: SimulatedPlant, timeout_s: float = 0.3, retries: int = 0) -> Endpoint:
    """The plant's endpoint with short waits, so a fault test takes a fraction of a second."""
    return Endpoint("127.0.0.1", plant.port, 1, timeout_s, retries)


def weighing_floor(rt: Runtime, plant: SimulatedPlant, now: datetime, **endpoint: float) -> Floor:
    """A quick check at its weighing step, its balance scanned at identification and wired to the plant."""
    floor = running_batch(rt, endpoint=endpoint_of(plant, **endpoint))  # type: ignore[arg-type]
    advance_to(floor, now, "qc_weigh")
    return floor


def capture(floor: Floor, step_id: str, field_id: str, equipment_code: str = "") -> StoredValue:
    """The operator presses Capture on a field."""
    record = floor.step(step_id).record
    return floor.rt.services.capture.capture(
        actor_of(floor.operator.user), floor.batch_id, record.id, field_id, KIOSK, equipment_code
    )


def values_of(floor: Floor, step_id: str) -> list[StoredValue]:
    """Every value row of the step's open pass."""
    record = floor.step(step_id).record
    with floor.rt.services.uow(AuditContext(Actor.system(), floor.rt.services.clock.now())) as uow:
        return uow.step_values.for_step(record.id)


def detail(value: StoredValue) -> dict[str, object]:
    """The value's source detail as stored."""
    found: dict[str, object] = json.loads(value.device_detail)
    return found


def set_balance_calibration(rt: Runtime, code: str, days_from_now: int) -> None:
    """Move an instance's calibration due date, as a signed calibration entry would."""
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test: calibration due date moved")) as uow:
        stored = uow.equipment.get(code)
        assert stored is not None
        from dataclasses import replace

        due = (now + timedelta(days=days_from_now)).date()
        uow.equipment.update(replace(stored.instance, calibration_due=due), stored.version, now)
        uow.commit()
