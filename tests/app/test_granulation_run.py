"""The demo's long procedure, start to finish through the application services, with everything the issue
names: a rework loop, a deviation and its disposition, a batch hold, a minimum and an overdue maximum hold
time, dual signatures and a yield step."""

from __future__ import annotations

import pytest

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from ebr.domain.batch import YIELD_FORMULA, BatchStatus, release_blockers
from ebr.domain.equipment import Endpoint
from ebr.domain.errors import InvalidTransition
from ebr.domain.records import HoldNotElapsed
from tests.app.execution_support import Floor, Person, fill, running_batch
from tests.fakes import FakeClock

LOD = {1: "2.50", 2: "1.50"}  # the first drying leaves the granules too wet: dry again


def _performer(floor: Floor, roles: frozenset[str]) -> Person:
    return floor.operator if not roles or "operator" in roles else floor.supervisor


def _verifier(floor: Floor, roles: frozenset[str]) -> Person:
    return floor.supervisor if "supervisor" in roles else floor.qa


def _run_step(floor: Floor, clock: FakeClock, seen: list[str], tablets: str = "117.300") -> None:
    line = floor.open_steps()[0]
    view = floor.rt.services.execution.step(floor.batch_id, line.record.id)
    step_id = line.record.step_id
    if line.record.status == "performed":
        floor.sign_step(step_id, "verified", _verifier(floor, view.step.verifier_roles))
        return
    given = {"lod_pct": LOD[line.record.iteration]} if step_id == "sample_lod" else {}
    given.update({"tablets_mass": tablets} if step_id == "end_compression" else {})
    if line.record.hold_earliest is not None and clock.now() < line.record.hold_earliest:
        clock.set(line.record.hold_earliest)  # wait out the minimum hold
        floor.relogin()
    fill(floor, step_id, clock.now(), **given)
    floor.sign_step(step_id, "performed", _performer(floor, view.step.performer_roles))
    seen.append(f"{step_id}#{line.record.iteration}")
    clock.advance(minutes=5)
    floor.relogin()


def _hold_times(floor: Floor, clock: FakeClock) -> None:
    """After drying: too early for the next step; then past the maximum the poller opens a deviation."""
    fill(floor, "sample_lod", clock.now(), lod_pct=LOD[floor.step("sample_lod").record.iteration])
    with pytest.raises(HoldNotElapsed, match="minimum hold"):
        floor.sign_step("sample_lod")
    clock.advance(hours=3, minutes=1)
    floor.relogin()
    assert floor.rt.services.execution.raise_overdue_holds() == 1
    assert floor.rt.services.execution.raise_overdue_holds() == 0  # one deviation per window, however often it runs


def _hold_and_resume(floor: Floor) -> None:
    floor.act("hold", floor.supervisor, "held", "granulator alarm under investigation")
    with pytest.raises(InvalidTransition, match="on hold"):
        fill(floor, floor.open_steps()[0].record.step_id, floor.rt.services.clock.now())
    floor.act("resume", floor.supervisor, "resumed", "alarm cleared by maintenance")


@pytest.mark.slow
def test_the_granulation_procedure_runs_start_to_finish(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500")
    seen: list[str] = []
    held = timed = False
    for _ in range(200):
        if not floor.open_steps():
            break
        step_id = floor.open_steps()[0].record.step_id
        if step_id == "dry_mix" and not held:
            _hold_and_resume(floor)
            held = True
        if step_id == "sample_lod" and not timed and floor.open_steps()[0].record.status == "ready":
            _hold_times(floor, clock)
            timed = True
        _run_step(floor, clock, seen)
    view = runtime.services.execution.batch(floor.batch_id)
    assert "record_yield_deviation#1" not in seen
    assert view.batch.batch.status is BatchStatus.COMPLETED
    assert seen.count("dry_granules#1") == 1 and "dry_granules#2" in seen  # the rework loop: its own record
    kinds = sorted({d.kind for d in view.deviations})
    assert "out_of_limit" in kinds and "hold_exceeded" in kinds
    assert len(view.yields) == 1 and view.yields[0].within
    lod = next(d for d in view.deviations if d.kind == "out_of_limit" and d.field_id == "lod_pct")
    floor.relogin()
    parameters = {"disposition": "rework", "impact": "granules dried again; LOD 1.50 % on the second pass"}
    floor.act("disposition", floor.qa, "dispositioned", "rework per SOP", deviation_pk=lod.id, parameters=parameters)
    floor.act("close", floor.qa, "closed", "second drying within limit", deviation_pk=lod.id)
    closed = runtime.services.execution.batch(floor.batch_id).deviations
    assert [(d.status, d.disposition) for d in closed if d.id == lod.id] == [("closed", "rework")]
    assert all(line.record.status == "completed" for line in view.steps), [
        (line.record.step_id, line.record.status) for line in view.steps if line.record.status != "completed"
    ]


@pytest.mark.slow
def test_the_granulation_procedure_captures_its_weights_and_temperatures_from_the_simulated_plant(
    runtime: Runtime, clock: FakeClock, plant: SimulatedPlant
) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500", endpoint=Endpoint("127.0.0.1", plant.port, 1, 0.5, 1))
    floor.plant = plant
    seen: list[str] = []
    for _ in range(200):
        if not floor.open_steps():
            break
        _run_step(floor, clock, seen)
    view = runtime.services.execution.batch(floor.batch_id)
    assert view.batch.batch.status is BatchStatus.COMPLETED
    assert "manual_override" not in {d.kind for d in view.deviations}  # nothing was typed over a device
    device = [
        fv.current
        for line in view.steps
        for fv in runtime.services.execution.step(floor.batch_id, line.record.id).fields
        if fv.field.source is not None and fv.current is not None
    ]
    assert device and all(v.source == "device" and v.equipment_code and v.raw for v in device)
    assert {v.tag for v in device} >= {"tare_mass", "gross_mass", "net_mass", "inlet_air_temp", "product_temp"}
    assert sorted(d.material_code for d in view.dispensings) == ["CCS-01", "MCC-101", "MGST-01", "PARA-API", "PVP-K30"]
    assert all(d.within for d in view.dispensings)
    api = next(r for r in view.reconciliations if r.material_code == "PARA-API")
    assert api.lots == "L-PARA-API (C-PARA-API, 100.000 kg)"  # the lot drawn is in the material balance


@pytest.mark.req("QA-06")
@pytest.mark.req("SEQ-10")
@pytest.mark.slow
def test_a_yield_below_its_limit_opens_a_deviation_takes_its_route_and_blocks_release(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime, "granulation", "PARA-500")
    seen: list[str] = []
    for _ in range(200):
        if not floor.open_steps():
            break
        _run_step(floor, clock, seen, tablets="113.900")
    view = runtime.services.execution.batch(floor.batch_id)
    assert view.batch.batch.status is BatchStatus.COMPLETED and "record_yield_deviation#1" in seen
    [stored] = view.yields
    assert (stored.produced, stored.theoretical, stored.yield_percent, stored.within) == (
        "113.900",
        "120.000",
        "94.92",
        False,
    )
    assert stored.formula == YIELD_FORMULA and (stored.low, stored.high) == ("95.0", "100.5")
    deviation = next(d for d in view.deviations if d.id == stored.deviation_id)
    assert deviation.kind == "yield" and deviation.status == "open"
    blockers = release_blockers(view.batch.batch, [d.number for d in view.deviations if d.status != "closed"], [], True)
    assert any(deviation.number in blocker for blocker in blockers)
