"""What every execution command needs first: the locked batch, the step record, its definition and form.

Procedure versions are immutable, so a version's bundle, steps and forms are read once per process and kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ebr.app.ports import ProcedureLibrary, ProcedureRuntime, StoredBatch, StoredStep, StoredValue, UnitOfWork
from ebr.domain.accounts import Role, User
from ebr.domain.batch import check_can_execute
from ebr.domain.calculations import parse
from ebr.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.scaling import NominalBatch, scale_factor, scaled_form
from ebr.domain.steps import EquipmentClass, FieldDefinition, FormDefinition, StepDefinition

READY, PERFORMED, COMPLETED, SKIPPED, CANCELLED = "ready", "performed", "completed", "skipped", "cancelled"


class StepNotOpen(Conflict):
    """The step is not ready for this request (SEQ-01): done, awaiting verification, skipped or cancelled."""


@dataclass(frozen=True)
class Procedure:
    """One immutable procedure version as execution reads it."""

    bundle: ProcedureBundle
    steps: dict[str, StepDefinition]
    forms: dict[str, FormDefinition]
    equipment: dict[str, EquipmentClass]
    nominal: NominalBatch | None = None
    factor: Decimal = Decimal(1)  # the batch's scale factor, once scaled_for applied it

    def form(self, step: StepDefinition) -> FormDefinition:
        """The step's form (the importer refused any bundle whose step lacks its form)."""
        return self.forms[step.form_id]

    def scaled_for(self, planned: Decimal, unit: str) -> Procedure:
        """The control recipe of a batch of this planned quantity: scaled limits times planned ÷ nominal (BR-02)."""
        factor = scale_factor(self.nominal, planned, unit)
        if factor == 1:
            return self
        forms = {form_id: scaled_form(form, factor) for form_id, form in self.forms.items()}
        return replace(self, forms=forms, factor=factor)


class ProcedureCache:
    """Procedure versions by id; safe to share because a stored version never changes."""

    def __init__(self, library: ProcedureLibrary, runtime: ProcedureRuntime, capacity: int = 32) -> None:
        self._library = library
        self._runtime = runtime
        self._capacity = capacity
        self._entries: OrderedDict[int, Procedure] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uow: UnitOfWork, version_id: int) -> Procedure:
        """The version's bundle, steps and forms."""
        with self._lock:
            if version_id in self._entries:
                self._entries.move_to_end(version_id)
                return self._entries[version_id]
        bundle = uow.procedures.bundle(version_id)
        found = Procedure(
            bundle,
            self._runtime.steps(bundle),
            self._library.forms(bundle),
            self._library.equipment(bundle),
            self._library.nominal_batch(bundle),
        )
        with self._lock:
            self._entries[version_id] = found
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return found


@dataclass(frozen=True)
class StepContext:
    """A step record with everything a command on it needs."""

    batch: StoredBatch
    record: StoredStep
    step: StepDefinition
    form: FormDefinition
    procedure: Procedure

    def field(self, field_id: str) -> FieldDefinition:
        """The form's field, or a refusal naming the unknown field."""
        found = self.form.field(field_id)
        if found is None:
            raise InvalidInput(f"The step {self.step.name!r} has no field {field_id!r}.")
        return found


def load_step(uow: UnitOfWork, cache: ProcedureCache, batch_id: str, step_pk: int, lock: bool = True) -> StepContext:
    """The step record of this batch; a step of another batch, or a forged id, is not found."""
    batch = uow.batches.lock(batch_id) if lock else uow.batches.get(batch_id)
    try:
        record = uow.batches.step(step_pk)
    except NotFound:
        record = None
    if record is None or record.batch_id != batch.id:
        raise NotFound(f"Batch {batch_id} has no step record {step_pk}.")
    return assemble(uow, cache, batch, record)


def assemble(uow: UnitOfWork, cache: ProcedureCache, batch: StoredBatch, record: StoredStep) -> StepContext:
    """The step record with its definition and form from the batch's pinned procedure version."""
    procedure = control_recipe(uow, cache, batch)
    step = procedure.steps[record.step_id]
    return StepContext(batch, record, step, procedure.form(step), procedure)


def control_recipe(uow: UnitOfWork, cache: ProcedureCache, batch: StoredBatch) -> Procedure:
    """The batch's pinned procedure scaled to its order's planned quantity."""
    procedure = cache.get(uow, batch.batch.procedure_version_id)
    if procedure.nominal is None:
        return procedure
    order = uow.orders.get(batch.order_id).order
    return procedure.scaled_for(order.planned_quantity, order.unit)


def check_open(context: StepContext, *allowed: str) -> None:
    """Refuse a request on a held or finished batch, or on a step not in one of the allowed states (SEQ-01, 04)."""
    check_can_execute(context.batch.batch)
    if context.record.status not in allowed:
        raise StepNotOpen(
            f"Step {context.step.name!r} is {context.record.status}, not {' or '.join(allowed)}: reload the batch."
        )


def known_roles(names: frozenset[str]) -> frozenset[Role]:
    """The roles a step names (the importer's lint refused any name that is not a role)."""
    return frozenset(role for role in Role if role.value in names)


def check_performer(context: StepContext, user: User) -> None:
    """Only the procedure's performer roles, and only the assignee where the step was reassigned."""
    roles = known_roles(context.step.performer_roles)
    if roles and not roles & user.roles:
        raise PermissionDenied(f"Step {context.step.name!r} is performed by: {', '.join(sorted(roles))}.")
    if context.record.assigned_to is not None and context.record.assigned_to != user.id:
        raise PermissionDenied(f"Step {context.step.name!r} is assigned to someone else.")


def parse_stored(field: FieldDefinition | None, text: str | None) -> object:
    """A stored value as the evaluator and the engine take it: Decimal, bool or text."""
    if text is None:
        return None
    if field is not None and field.type in ("number", "quantity", "reading", "calculated"):
        return Decimal(text)
    if field is not None and field.type == "boolean":
        return text == "true"
    return text


def variables(context: StepContext, uow: UnitOfWork, names: frozenset[str]) -> dict[str, object]:
    """The latest value of each named field in the batch: the expression's inputs."""
    fields = {f.id: f for form in context.procedure.forms.values() for f in form.fields}
    latest = uow.step_values.latest(context.batch.id, names)
    return {name: parse_stored(fields.get(name), value.value) for name, value in latest.items()}


def reads(*sources: str) -> frozenset[str]:
    """The names a set of expressions reads."""
    names: set[str] = set()
    for source in sources:
        if source.strip():
            names |= parse(source).names
    return frozenset(names)


def current_values(values: list[StoredValue]) -> dict[str, StoredValue]:
    """The value in force per field: the last one entered."""
    return {value.field_id: value for value in values}


def stored_text(value: object) -> str | None:
    """How a typed value is stored: exact decimal text, true/false, ISO time, or text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
