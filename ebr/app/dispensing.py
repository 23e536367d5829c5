"""Weigh and dispense: when the performer signs a dispensing step, what was weighed out becomes a record and a new
labelled container of the same lot, so the lot is in the batch record, the reconciliation and the ERP posting.

The net is the form's calculated field (gross - tare, from the scale), already checked against its target and
tolerance at signing: outside it, the deviation is open and linked here too.
"""

from __future__ import annotations

from decimal import Decimal

from ebr.app.context import AuditContext
from ebr.app.execution_context import StepContext, current_values
from ebr.app.execution_results import terminal_of
from ebr.app.ports import Dispensing, StoredValue, UnitOfWork
from ebr.domain.errors import Conflict
from ebr.domain.limits import Limit
from ebr.domain.materials import Container


def label_of(context: StepContext) -> str:
    """The dispensed container's barcode: the batch and the step record, unique and printable."""
    return f"{context.batch.batch.id}-D{context.record.id}"[:64]


def record_dispensing(uow: UnitOfWork, context: StepContext, by: int, ctx: AuditContext) -> Dispensing | None:
    """The dispensing of a step whose form has a dispense block; None for any other step."""
    spec = context.form.dispense
    if spec is None:
        return None
    values = current_values(uow.step_values.for_step(context.record.id))
    source = uow.containers.get(_text(values, spec.container))
    if source is None:
        raise Conflict(f"Container {_text(values, spec.container)} is unknown: scan a labelled container.")
    net_field = context.field(spec.net)
    tare, gross, net = (Decimal(_text(values, name)) for name in (spec.tare, spec.gross, spec.net))
    if net <= 0:
        raise Conflict(f"{net_field.label} is {net} {net_field.unit}: nothing was dispensed.")
    target, tolerance = _target(net_field.limit, net)
    label = label_of(context)
    uow.containers.put(Container(label, source.material_code, source.lot_number, net, net_field.unit), ctx.at)
    gross_value = values[spec.gross]
    net_value = values[spec.net]
    return uow.dispensings.add(
        Dispensing(
            0,
            context.batch.id,
            context.record.id,
            source.material_code,
            source.lot_number,
            source.barcode,
            label,
            tare,
            gross,
            net,
            net_field.unit,
            target,
            tolerance,
            net_value.within_limits is not False,
            gross_value.equipment_code,
            ctx.at,
            by,
            terminal_of(ctx.request),
            net_value.deviation_id,
        )
    )


def _target(limit: Limit | None, net: Decimal) -> tuple[Decimal, Decimal]:
    """The net's target and tolerance (the importer refused a dispense block whose net has none)."""
    if limit is None or limit.target is None or limit.tolerance is None:
        return net, Decimal(0)
    return limit.target, limit.tolerance


def _text(values: dict[str, StoredValue], field_id: str) -> str:
    value = values.get(field_id)
    if value is None or value.value is None:
        raise Conflict(f"{field_id} has no value: the dispensing cannot be recorded.")
    return value.value
