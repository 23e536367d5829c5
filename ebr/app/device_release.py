"""Device batches (ISO 13485 7.5.1, 7.5.8; QMSR 820.35(c); BR-09): the quantities made and approved for
distribution and the UDI of the units a batch made.

Design: a procedure is a device procedure when one of its forms has a `device_release` block; that block names the
step's fields holding each item, and the importer requires every one of them to be a required field. The items are
ordinary step values, so they are entered, corrected and signed like any other, and the record reads them from the
values in force. Signing the step checks them as a whole (nothing missing, no more approved than made, a GS1
device identifier with a valid check digit, an expiry after the day of manufacture); release checks them again,
because a skipped step or a later correction could leave an item missing or invalid, and names each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ebr.app.execution_context import COMPLETED, Procedure, StepContext, current_values
from ebr.app.ports import StoredStep, StoredValue, UnitOfWork
from ebr.domain.errors import Conflict
from ebr.domain.steps import DeviceReleaseSpec, FormDefinition
from ebr.domain.udi import DeviceIdentification


class DeviceIdentificationInvalid(Conflict):
    """A device release step cannot be signed: an item is missing or invalid (BR-09)."""


def identification(
    spec: DeviceReleaseSpec, form: FormDefinition, values: Iterable[StoredValue]
) -> DeviceIdentification:
    """The items as recorded on the step, each the value in force ("" when missing)."""
    current = current_values(list(values))

    def text(field_id: str) -> str:
        value = current.get(field_id) if field_id else None
        return value.value or "" if value is not None else ""

    made = form.field(spec.quantity_manufactured)
    return DeviceIdentification(
        text(spec.quantity_manufactured),
        text(spec.quantity_approved),
        made.unit if made is not None else "",
        text(spec.udi_di),
        text(spec.lot),
        text(spec.serial),
        text(spec.expiry),
    )


def check_device_release(uow: UnitOfWork, context: StepContext, at: datetime) -> None:
    """Refuse to sign a device release step whose items are missing or invalid, naming each."""
    spec = context.form.device_release
    if spec is None:
        return
    found = identification(spec, context.form, uow.step_values.for_step(context.record.id))
    problems = found.problems(at.date(), bool(spec.serial))
    if problems:
        raise DeviceIdentificationInvalid(f"Step {context.step.name!r} cannot be signed: {'; '.join(problems)}.")


def device_steps(procedure: Procedure) -> dict[str, DeviceReleaseSpec]:
    """The procedure's device release steps by step id: empty for a procedure that makes no devices."""
    found = {}
    for step in procedure.steps.values():
        spec = procedure.forms[step.form_id].device_release if step.form_id in procedure.forms else None
        if spec is not None:
            found[step.id] = spec
    return found


@dataclass(frozen=True)
class DeviceRelease:
    """The device release step record in force and what it holds."""

    step: StoredStep
    spec: DeviceReleaseSpec
    identification: DeviceIdentification


def device_release(
    procedure: Procedure, steps: Sequence[StoredStep], values: Iterable[StoredValue]
) -> DeviceRelease | None:
    """The last completed device release step of the batch, with its items; None when there is none."""
    specs = device_steps(procedure)
    done = [s for s in steps if s.step_id in specs and s.status == COMPLETED]
    if not done:
        return None
    step = max(done, key=lambda s: s.id)
    spec = specs[step.step_id]
    form = procedure.forms[procedure.steps[step.step_id].form_id]
    mine = [v for v in values if v.step_record_id == step.id]
    return DeviceRelease(step, spec, identification(spec, form, mine))


def device_blockers(uow: UnitOfWork, procedure: Procedure, steps: Sequence[StoredStep]) -> list[str]:
    """What keeps a device batch from release: no completed device release step, or an item missing or invalid."""
    if not device_steps(procedure):
        return []
    done = [s for s in steps if s.step_id in device_steps(procedure) and s.status == COMPLETED]
    values = [v for s in done for v in uow.step_values.for_step(s.id)]
    found = device_release(procedure, steps, values)
    if found is None:
        return [
            "the device identification (quantities, UDI-DI, lot, expiry) is not recorded: no device release step "
            "was completed"
        ]
    made = (found.step.performed_at or found.step.completed_at or found.step.became_ready_at).date()
    problems = found.identification.problems(made, bool(found.spec.serial))
    return [f"device identification: {problem}" for problem in problems]
