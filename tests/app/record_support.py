"""Batches with everything a batch record must hold, and the record service wired as bootstrap wires it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ebr.adapters.batchml.export import BatchMLExporter
from ebr.app.context import Actor, AuditContext
from ebr.app.execution_context import ProcedureCache
from ebr.app.execution_corrections import Entry
from ebr.app.execution_views import StepLine
from ebr.app.genealogy import GenealogyService
from ebr.app.ports import StoredStep
from ebr.app.record import RecordService
from ebr.app.scans import ScanRefused
from ebr.bootstrap import Runtime
from ebr.engine.runtime import SpiffRuntime
from ebr.library.loader import FolderLibrary
from tests.app.execution_support import Floor, Person, fill, running_batch
from tests.fakes import FakeClock

VERSION = "0.1.0+abc123def456"
LOD = {1: "2.50", 2: "1.50"}  # the first drying leaves the granules too wet: dry again


def record_service(rt: Runtime) -> RecordService:
    """The record service on the runtime's database, with a procedure cache of its own."""
    cache = ProcedureCache(FolderLibrary(rt.settings.library_dir), SpiffRuntime())
    return RecordService(rt.services.uow, rt.services.clock, cache, VERSION, BatchMLExporter())


def genealogy_service(rt: Runtime) -> GenealogyService:
    return GenealogyService(rt.services.uow, rt.services.clock)


def step_record(floor: Floor, step_id: str, iteration: int = 1) -> StoredStep:
    """A step record of the batch, open or done."""
    lines = floor.rt.services.execution.batch(floor.batch_id).steps
    return next(s.record for s in lines if s.record.step_id == step_id and s.record.iteration == iteration)


def quick_batch(rt: Runtime, clock: FakeClock) -> Floor:
    """The quick check with a hold and resume, a refused scan, a signed correction, an out-of-limit weight typed
    over the balance (two deviations), performer and verifier signatures, and a disposition."""
    floor = running_batch(rt)
    floor.act("hold", floor.supervisor, "held", "room pressure alarm")
    clock.advance(minutes=7)
    floor.act("resume", floor.supervisor, "resumed", "pressure back in range")
    with pytest.raises(ScanRefused):
        floor.enter("qc_identify", qc_lot="NOPE-1")  # an unknown container: refused, and the refusal recorded
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    identify = step_record(floor, "qc_identify")
    clock.advance(minutes=1)
    floor.act(
        "correct",
        floor.operator,
        "corrected",
        "misread label",
        step_pk=identify.id,
        parameters={"field": "qc_lot", "value": "LOT-7"},
    )
    heavy = Entry("qc_mass", "1.500", "kg", confirmed=True, override_reason="balance offline")
    floor.enter("qc_weigh", qc_mass=heavy)
    floor.sign_step("qc_weigh")
    floor.sign_step("qc_weigh", "verified")
    deviation = next(d for d in rt.services.execution.batch(floor.batch_id).deviations if d.kind == "out_of_limit")
    parameters = {"disposition": "reject", "impact": "sample discarded"}
    floor.act(
        "disposition", floor.qa, "dispositioned", "out of tolerance", deviation_pk=deviation.id, parameters=parameters
    )
    return floor


def _performer(floor: Floor, roles: frozenset[str]) -> Person:
    return floor.operator if not roles or "operator" in roles else floor.supervisor


def _verifier(floor: Floor, roles: frozenset[str]) -> Person:
    return floor.supervisor if "supervisor" in roles else floor.qa


def _run_step(floor: Floor, clock: FakeClock) -> None:
    line = floor.open_steps()[0]
    view = floor.rt.services.execution.step(floor.batch_id, line.record.id)
    step_id = line.record.step_id
    if line.record.status == "performed":
        floor.sign_step(step_id, "verified", _verifier(floor, view.step.verifier_roles))
        return
    given = {"lod_pct": LOD[line.record.iteration]} if step_id == "sample_lod" else {}
    given.update({"tablets_mass": "117.300"} if step_id == "end_compression" else {})
    if line.record.hold_earliest is not None and clock.now() < line.record.hold_earliest:
        clock.set(line.record.hold_earliest)  # wait out the minimum hold
        floor.relogin()
    fill(floor, step_id, clock.now(), **given)
    floor.sign_step(step_id, "performed", _performer(floor, view.step.performer_roles))
    clock.advance(minutes=5)
    floor.relogin()


def granulation_batch(
    rt: Runtime, clock: FakeClock, before_step: Callable[[Floor, StepLine], None] | None = None
) -> Floor:
    """The granulation procedure start to finish: dispensings of five lots, a hold and resume, a rework loop, an
    out-of-limit LOD deviation dispositioned and closed, dual signatures, a yield, reconciliations, and a signed
    correction of a value after its step was signed. before_step may act on each step before it is performed."""
    floor = running_batch(rt, "granulation", "PARA-500")
    held = False
    for _ in range(200):
        if not floor.open_steps():
            break
        if before_step is not None:
            before_step(floor, floor.open_steps()[0])
        if floor.open_steps()[0].record.step_id == "dry_mix" and not held:
            floor.act("hold", floor.supervisor, "held", "granulator alarm under investigation")
            clock.advance(minutes=3)
            floor.act("resume", floor.supervisor, "resumed", "alarm cleared by maintenance")
            held = True
        _run_step(floor, clock)
    lod = next(d for d in rt.services.execution.batch(floor.batch_id).deviations if d.field_id == "lod_pct")
    parameters = {"disposition": "rework", "impact": "granules dried again"}
    floor.act("disposition", floor.qa, "dispositioned", "rework per SOP", deviation_pk=lod.id, parameters=parameters)
    floor.act("close", floor.qa, "closed", "second drying within limit", deviation_pk=lod.id)
    cleared = step_record(floor, "lc_remove_previous")
    parameters = {"field": "previous_batch", "value": "B-8999"}
    floor.act(
        "correct", floor.operator, "corrected", "typed the wrong batch", step_pk=cleared.id, parameters=parameters
    )
    return floor


def counts(rt: Runtime, batch_id: str) -> dict[str, int]:
    """What the database holds for the batch, counted directly."""
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        batch = uow.batches.get(batch_id)
        steps = uow.batches.steps(batch.id)
        actions = uow.batch_actions.for_batch(batch.id)
        signatures = [s for step in steps for s in uow.signatures.for_object("batch_step", str(step.id))]
        signatures += [s for a in actions for s in uow.signatures.for_object("batch_action", str(a.id))]
        return {
            "steps": len(steps),
            "values": len(uow.step_values.for_batch(batch.id)),
            "signatures": len(signatures),
            "approvals": len(uow.signatures.for_object("procedure_version", str(batch.batch.procedure_version_id))),
            "deviations": len(uow.deviations.for_batch(batch.id)),
            "actions": len(actions),
            "dispensings": len(uow.dispensings.for_batch(batch.id)),
            "equipment_uses": len(uow.equipment_uses.for_batch(batch.id)),
            "identity_checks": len(uow.identity_checks.for_batch(batch.id)),
            "yields": len(uow.yields.yields(batch.id)),
            "reconciliations": len(uow.yields.reconciliations(batch.id)),
        }
