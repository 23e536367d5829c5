"""Voiding an entry of a step not yet signed: nothing is deleted (REC-04), the void is a new value row superseding
the entry, with no value and the reason, so every export shows the entry, the void and its reason (REC-02).

A required field that was voided is empty again, so the step cannot be signed until it is entered anew (SEQ-02).
Once the step is signed, a change is a signed correction instead (execution_corrections.correct).
"""

from __future__ import annotations

from ebr.app.context import AuditContext
from ebr.app.execution_context import COMPLETED, PERFORMED, READY, StepContext, check_open, current_values
from ebr.app.execution_results import terminal_of
from ebr.app.ports import StoredValue, UnitOfWork
from ebr.domain.accounts import Role, User
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied
from ebr.domain.records import Source


def _entry(uow: UnitOfWork, context: StepContext, value_pk: int) -> StoredValue:
    """The entry in force that the void names; an entry of another step, or one superseded, is refused."""
    rows = uow.step_values.for_step(context.record.id)
    entry = next((row for row in rows if row.id == value_pk), None)
    if entry is None:
        raise InvalidInput(f"Step {context.step.name!r} has no entry {value_pk}.")
    in_force = current_values(rows)[entry.field_id]
    if entry.voided or (in_force.voided and in_force.supersedes_id == entry.id):
        raise Conflict(f"Entry {value_pk} of {context.field(entry.field_id).label} is already voided.")
    if in_force.id != entry.id:
        raise Conflict(f"Entry {value_pk} was superseded by entry {in_force.id}: reload the step.")
    return entry


def void_entry(
    uow: UnitOfWork, context: StepContext, value_pk: int, user: User, reason: str, ctx: AuditContext
) -> StoredValue:
    """Store the void of an unsigned step's entry in force; its author or a supervisor may void it."""
    if context.record.status in (PERFORMED, COMPLETED):
        raise Conflict(f"Step {context.step.name!r} is signed: a change needs a signed correction with a reason.")
    check_open(context, READY)
    entry = _entry(uow, context, value_pk)
    if entry.captured_by != user.id and Role.SUPERVISOR not in user.roles:
        raise PermissionDenied("Only the person who entered the value, or a supervisor, may void it.")
    return uow.step_values.add(
        StoredValue(
            0,
            context.batch.id,
            context.record.id,
            entry.field_id,
            None,
            entry.unit,
            str(Source.TYPED),
            ctx.at,
            user.id,
            terminal_of(ctx.request),
            supersedes_id=entry.id,
            change_reason=reason,
            void_reason=reason,
        )
    )
