"""Every trigger opens exactly one deviation linked to its batch, step and field, and its lifecycle moves only by
signatures of authorised roles (QA-01)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import AuditContext
from ebr.app.execution_context import load_step
from ebr.app.ports import StoredDeviation
from ebr.app.scans import check_field_scan
from ebr.bootstrap import Runtime
from ebr.domain.equipment import DeviceFault
from tests.app.equipment_support import capture, weighing_floor
from tests.app.execution_support import KIOSK, Entry, Floor
from tests.factories import actor_of


def _new(floor: Floor, before: list[StoredDeviation]) -> StoredDeviation:
    after = floor.rt.services.execution.batch(floor.batch_id).deviations
    [opened] = [d for d in after if d.id not in {b.id for b in before}]
    return opened


def _deviations(floor: Floor) -> list[StoredDeviation]:
    return floor.rt.services.execution.batch(floor.batch_id).deviations


@pytest.mark.req("QA-01")
def test_each_trigger_opens_one_deviation_linked_to_its_batch_step_and_field(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    now = runtime.services.clock.now()
    floor = weighing_floor(runtime, plant, now)
    record = floor.step("qc_weigh").record
    operator = floor.operator.user.id
    opened = []

    before = _deviations(floor)
    plant.place(gross=Decimal("1.050"), tare=Decimal("0"))
    capture(floor, "qc_weigh", "qc_mass")
    opened.append(("out_of_limit", _new(floor, before)))

    before = _deviations(floor)
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.001", "kg", change_reason="x", override_reason="display dark"))
    opened.append(("manual_override", _new(floor, before)))

    before = _deviations(floor)
    plant.fail(1, 4)
    with pytest.raises(DeviceFault):
        capture(floor, "qc_weigh", "qc_mass")
    opened.append(("device_failure", _new(floor, before)))

    before = _deviations(floor)
    ctx = AuditContext(actor_of(floor.operator.user), now, "scan", KIOSK)
    with runtime.services.uow(ctx) as uow:
        context = load_step(uow, runtime.services.execution._cache, floor.batch_id, record.id)
        tolerant = replace(context.procedure.forms["qc_identify"].fields[1], on_fail="deviation")
        check_field_scan(uow, context, tolerant, "EQ-NOWHERE", operator, ctx)
        uow.commit()
    opened.append(("failed_check", _new(floor, before)))

    before = _deviations(floor)
    runtime.services.execution.report_deviation(
        actor_of(floor.operator.user), floor.batch_id, record.id, "minor", "sample spilled", "cleaned up", KIOSK
    )
    opened.append(("operator_report", _new(floor, before)))

    for kind, deviation in opened:
        assert deviation.kind == kind
        assert (deviation.step_record_id, deviation.status, deviation.reported_by) == (record.id, "open", operator)
        assert deviation.detected_at == now and deviation.description
    assert [d.field_id for _, d in opened] == ["qc_mass", "qc_mass", "qc_mass", "qc_balance_id", ""]
    assert len({d.number for _, d in opened}) == 5


@pytest.mark.req("QA-01")
def test_a_deviation_is_dispositioned_and_closed_only_by_signatures_of_authorised_roles(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    plant.fail(1, 4)
    with pytest.raises(DeviceFault):
        capture(floor, "qc_weigh", "qc_mass")
    [deviation] = _deviations(floor)
    parameters = {"disposition": "continue", "impact": "none: value captured on retry"}
    action = runtime.services.execution.request_action(
        actor_of(floor.qa.user),
        floor.batch_id,
        "disposition",
        "retry succeeded",
        KIOSK,
        deviation_pk=deviation.id,
        parameters=parameters,
    )
    assert action.status == "pending" and _deviations(floor)[0].status == "open"  # nothing moves before the signature
    with pytest.raises(Exception, match="(?i)not allowed|may not|role"):
        floor.act(
            "disposition",
            floor.operator,
            "dispositioned",
            "operator tries",
            deviation_pk=deviation.id,
            parameters=parameters,
        )
    floor.act(
        "disposition", floor.qa, "dispositioned", "retry succeeded", deviation_pk=deviation.id, parameters=parameters
    )
    floor.act("close", floor.qa, "closed", "no impact", deviation_pk=deviation.id)
    [done] = _deviations(floor)
    assert (done.status, done.disposition, done.impact) == ("closed", "continue", "none: value captured on retry")
    assert done.decided_by == floor.qa.user.id and done.closed_by == floor.qa.user.id
