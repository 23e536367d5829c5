"""Capture from a real Modbus server on loopback: what a value is stored with, and every fault path (DEV-01, DEV-02)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.audit import Action
from ebr.domain.equipment import DeviceFault, FaultKind
from ebr.domain.errors import Conflict, InvalidInput
from tests.app.equipment_support import (
    BALANCE,
    capture,
    detail,
    endpoint_of,
    set_balance_calibration,
    values_of,
    weighing_floor,
)
from tests.app.execution_support import KIOSK, Entry, running_batch


def _device_failures(runtime: Runtime, batch_id: str) -> list[str]:
    return [d.field_id for d in runtime.services.execution.batch(batch_id).deviations if d.kind == "device_failure"]


@pytest.mark.req("DEV-01")
def test_a_captured_value_is_stored_with_its_device_tag_registers_read_time_and_status(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    plant.place(gross=Decimal("1.250"), tare=Decimal("0.245"))
    value = capture(floor, "qc_weigh", "qc_mass")
    assert (value.value, value.unit, value.source, value.quality) == ("1.005", "kg", "device", "good")
    assert value.equipment_code == BALANCE and value.tag == "net_mass"
    assert value.device_time == runtime.services.clock.now()
    assert len(value.raw.split()) == 2  # a float32 is two holding registers, kept as the device sent them
    source = detail(value)
    assert source["host"] == "127.0.0.1" and source["port"] == plant.port and source["unit_id"] == 1
    assert (source["register"], source["data_type"], source["word_order"]) == (0, "float32", "big")
    assert source["unit"] == "kg" and source["class"] == "balance"
    assert "calibration due 2099-12-31" in str(source["status"]) and "in service" in str(source["status"])
    assert value.terminal == "kiosk-7"


@pytest.mark.req("DEV-01")
def test_only_the_instance_in_use_and_bound_to_the_field_can_supply_its_value(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    with pytest.raises(InvalidInput, match="not bound"):
        capture(floor, "qc_weigh", "qc_mass", equipment_code="EQ-TEMPERATURE_PROBE")
    with pytest.raises(InvalidInput, match="not bound"):
        capture(floor, "qc_weigh", "qc_mass", equipment_code="BAL-UNKNOWN")
    assert values_of(floor, "qc_weigh") == []


def test_a_field_people_enter_cannot_be_captured(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = running_batch(runtime, endpoint=endpoint_of(plant))
    with pytest.raises(InvalidInput, match="not captured from a device"):
        capture(floor, "qc_identify", "qc_lot")
    assert values_of(floor, "qc_identify") == []


@pytest.mark.req("DEV-02")
@pytest.mark.req("OPS-01")
@pytest.mark.parametrize(
    ("arrange", "kind"),
    [
        (lambda p: p.fail(1, 2), FaultKind.EXCEPTION_RESPONSE),
        (lambda p: p.fail(1, 6), FaultKind.EXCEPTION_RESPONSE),
        (lambda p: p.place(gross=Decimal("400"), tare=Decimal("0")), FaultKind.OUT_OF_RANGE),
        (lambda p: p.set_value(1, "net_mass", float("nan")), FaultKind.NOT_A_NUMBER),
        (lambda p: p.set_value(1, "net_mass", float("inf")), FaultKind.NOT_A_NUMBER),
        (lambda p: p.set_value(1, "value_age", 60), FaultKind.STALE),
        (lambda p: p.mute(1), FaultKind.TIMEOUT),
        (lambda p: p.stop(), FaultKind.UNREACHABLE),
    ],
    ids=["illegal-address", "busy", "out-of-range", "nan", "inf", "stale", "no-answer", "down"],
)
def test_a_failed_read_leaves_the_step_unchanged_is_audited_opens_one_deviation_and_can_be_retried(
    runtime: Runtime, plant: SimulatedPlant, arrange: object, kind: FaultKind
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    plant.place(gross=Decimal("1.000"), tare=Decimal("0"))
    arrange(plant)  # type: ignore[operator]
    for _ in range(2):
        with pytest.raises(DeviceFault) as refused:
            capture(floor, "qc_weigh", "qc_mass")
        assert refused.value.kind is kind and str(refused.value)
    assert values_of(floor, "qc_weigh") == []
    entries = runtime.services.trail.query(AuditFilter(object_type="step_record"), limit=None)
    faults = [e.draft for e in entries if e.draft.action == Action.DEVICE_FAULT]
    assert len(faults) == 2 and str(kind) in (faults[0].new_value or "")
    assert _device_failures(runtime, floor.batch_id) == ["qc_mass"]  # one open deviation per field, not per try
    [incident] = runtime.services.incidents.open_incidents()
    assert (incident.kind, incident.correlation_id) == ("device_failure", KIOSK.request_id)
    assert incident.opened_at == runtime.services.clock.now() and "EQ-BALANCE" in incident.subject
    plant.reset()  # faults lifted, values fresh
    plant.start()  # a no-op unless it was stopped: the device comes back
    plant.place(gross=Decimal("1.000"), tare=Decimal("0"))
    assert capture(floor, "qc_weigh", "qc_mass").value == "1.000"


@pytest.mark.req("DEV-02")
def test_a_device_that_never_answers_fails_within_timeout_times_attempts(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now(), timeout_s=0.2, retries=2)
    plant.mute(1)
    started = time.monotonic()
    with pytest.raises(DeviceFault, match="did not answer"):
        capture(floor, "qc_weigh", "qc_mass")
    assert time.monotonic() - started < 0.2 * 3 + 0.5


def test_an_unstable_balance_is_refused_without_a_deviation_and_captured_once_at_rest(runtime: Runtime) -> None:
    with SimulatedPlant(moving=False, settle_s=0.3) as settling:
        floor = weighing_floor(runtime, settling, runtime.services.clock.now())
        settling.place(gross=Decimal("1.002"), tare=Decimal("0"))
        with pytest.raises(DeviceFault) as refused:
            capture(floor, "qc_weigh", "qc_mass")
        assert refused.value.kind is FaultKind.UNSTABLE and "stable" in str(refused.value)
        assert _device_failures(runtime, floor.batch_id) == []
        time.sleep(0.4)
        assert capture(floor, "qc_weigh", "qc_mass").value == "1.002"


@pytest.mark.req("DEV-02")
def test_no_lock_is_held_while_a_device_is_waited_for(runtime: Runtime, plant: SimulatedPlant) -> None:
    """Another person's entry on the same batch goes through while a capture waits on a silent device."""
    floor = weighing_floor(runtime, plant, runtime.services.clock.now(), timeout_s=1.0, retries=1)
    plant.mute(1)
    errors: list[BaseException] = []

    def waiting() -> None:
        try:
            capture(floor, "qc_weigh", "qc_mass")
        except BaseException as exc:  # the thread hands its outcome to the test
            errors.append(exc)

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    floor.enter("qc_weigh", qc_mass=Entry("qc_mass", "1.000", "kg", override_reason="balance not answering"))
    assert time.monotonic() - started < 0.5
    thread.join()
    assert errors and isinstance(errors[0], DeviceFault)


def test_a_recapture_supersedes_the_first_value_which_stays(runtime: Runtime, plant: SimulatedPlant) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    plant.place(gross=Decimal("0.980"), tare=Decimal("0"))
    first = capture(floor, "qc_weigh", "qc_mass")
    plant.place(gross=Decimal("1.001"), tare=Decimal("0"))
    second = capture(floor, "qc_weigh", "qc_mass")
    assert second.supersedes_id == first.id
    assert [v.value for v in values_of(floor, "qc_weigh")] == ["0.980", "1.001"]
    assert first.within_limits is False and first.deviation_id is not None  # outside 1.000 ± 0.010, never silent


def test_capture_and_signing_are_refused_once_the_balance_calibration_has_lapsed(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant, runtime.services.clock.now())
    plant.place(gross=Decimal("1.000"), tare=Decimal("0"))
    capture(floor, "qc_weigh", "qc_mass")
    set_balance_calibration(runtime, BALANCE, -1)
    with pytest.raises(Conflict, match="calibration overdue"):
        capture(floor, "qc_weigh", "qc_mass")
    with pytest.raises(Exception, match="calibration overdue"):
        floor.sign_step("qc_weigh")
    assert floor.step("qc_weigh").record.status == "ready"
