"""Identity checks by scan (SEQ-07, 211.101): a container against the material a field expects, an equipment
instance against the class a field or step needs, and the equipment a step must have in use before it is signed.

Every scan is recorded, passed or refused, with its reason. A refused scan blocks the step, or where the procedure
says `on_fail: deviation`, is kept and opens a deviation. Either way the refusal is in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from ebr.app.context import AuditContext
from ebr.app.deviations import open_in
from ebr.app.execution_context import StepContext
from ebr.app.execution_results import terminal_of
from ebr.app.ports import EquipmentUse, IdentityCheck, StoredDeviation, StoredEquipment, UnitOfWork
from ebr.domain.audit import Action
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.equipment_status import check_instance, status_text
from ebr.domain.errors import Conflict
from ebr.domain.materials import IdentityResult, check_container
from ebr.domain.steps import FieldDefinition

EQUIPMENT, MATERIAL = "equipment", "material_lot"


class ScanRefused(Conflict):
    """A failed identity check that blocks the step; it is recorded before it is raised (commit, then re-raise)."""


def material_result(uow: UnitOfWork, barcode: str, material: str, at: datetime) -> IdentityResult:
    """A container: known, of a known lot of the expected material, released and not expired."""
    container = uow.containers.get(barcode)
    lot = uow.lots.get(container.material_code, container.lot_number) if container else None
    return check_container(barcode, container, lot, material, at.date())


def equipment_result(uow: UnitOfWork, barcode: str, expected_class: str, at: datetime) -> IdentityResult:
    """An instance: registered, of the expected class, in service, clean, calibrated and qualified."""
    stored = uow.equipment.get(barcode)
    return check_instance(barcode, stored.instance if stored else None, expected_class, at)


def check_field_scan(
    uow: UnitOfWork, context: StepContext, field: FieldDefinition, barcode: str, by: int, ctx: AuditContext
) -> StoredDeviation | None:
    """Check a scanned barcode field; raises ScanRefused when the procedure blocks, else the deviation opened."""
    if field.check == MATERIAL:
        result = material_result(uow, barcode, field.material, ctx.at)
    else:
        result = equipment_result(uow, barcode, field.equipment or context.step.equipment_class, ctx.at)
    return _record(uow, context, field.id, field.check, barcode, result, field.on_fail == "deviation", by, ctx)


def check_in(uow: UnitOfWork, context: StepContext, barcode: str, by: int, ctx: AuditContext) -> EquipmentUse:
    """The step's own equipment scan: an instance of the step's class; a failure always blocks."""
    result = equipment_result(uow, barcode, context.step.equipment_class, ctx.at)
    _record(uow, context, "", EQUIPMENT, barcode, result, False, by, ctx)
    return _uses_of_step(uow, context)[-1]


def _record(
    uow: UnitOfWork,
    context: StepContext,
    field_id: str,
    kind: str,
    barcode: str,
    result: IdentityResult,
    tolerate: bool,
    by: int,
    ctx: AuditContext,
) -> StoredDeviation | None:
    """Store the check; on a refusal audit it and block, or open a deviation; on a pass record the equipment use."""
    deviation = None
    if not result:
        step = str(context.record.id)
        uow.audit.append(Action.CHECK_FAILED, "step_record", step, field_id, None, barcode[:64], result.reason)
        if not tolerate:
            _add_check(uow, context, field_id, kind, barcode, result, by, ctx, None)
            raise ScanRefused(result.reason)
        text = f"Identity check failed for {barcode}: {result.reason}"
        failed, major = DeviationKind.FAILED_CHECK, Severity.MAJOR
        deviation = open_in(uow, context.batch, context.record.id, failed, major, text, "", ctx.at, by, field_id)
    _add_check(uow, context, field_id, kind, barcode, result, by, ctx, deviation)
    if kind == EQUIPMENT:
        stored = uow.equipment.get(barcode)
        if stored is not None:
            _add_use(uow, context, field_id, stored, by, ctx)
    return deviation


def _add_check(
    uow: UnitOfWork,
    context: StepContext,
    field_id: str,
    kind: str,
    barcode: str,
    result: IdentityResult,
    by: int,
    ctx: AuditContext,
    deviation: StoredDeviation | None,
) -> None:
    terminal = terminal_of(ctx.request)
    uow.identity_checks.add(
        IdentityCheck(
            0,
            context.batch.id,
            context.record.id,
            field_id,
            kind,
            barcode[:64],
            result.ok,
            result.reason,
            ctx.at,
            by,
            terminal,
            deviation.id if deviation else None,
        )
    )


def _add_use(
    uow: UnitOfWork, context: StepContext, field_id: str, stored: StoredEquipment, by: int, ctx: AuditContext
) -> None:
    instance = stored.instance
    uow.equipment_uses.add(
        EquipmentUse(
            0,
            instance.code,
            instance.class_id,
            context.batch.id,
            context.record.id,
            field_id,
            ctx.at,
            by,
            terminal_of(ctx.request),
            status_text(instance),
        )
    )


def _uses_of_step(uow: UnitOfWork, context: StepContext) -> list[EquipmentUse]:
    return uow.equipment_uses.for_step(context.record.id)


def in_use(uow: UnitOfWork, context: StepContext, class_id: str) -> EquipmentUse | None:
    """The instance of a class the step works with: scanned at this step, else the latest scanned in the batch."""
    mine = [use for use in _uses_of_step(uow, context) if use.class_id == class_id]
    if mine:
        return mine[-1]
    batch = [use for use in uow.equipment_uses.for_batch(context.batch.id) if use.class_id == class_id]
    return batch[-1] if batch else None


def check_equipment(uow: UnitOfWork, context: StepContext, at: datetime) -> None:
    """A step that names an equipment class is signed only with an instance of it in use that still passes its
    check: calibration or cleaning that lapsed since the scan blocks the step too."""
    class_id = context.step.equipment_class
    if not class_id:
        return
    use = in_use(uow, context, class_id)
    if use is None:
        raise Conflict(f"Step {context.step.name!r} uses a {class_id}: scan its equipment label first.")
    result = equipment_result(uow, use.equipment_code, class_id, at)
    if not result:
        raise Conflict(f"Step {context.step.name!r} cannot be signed: {result.reason}")
