"""Read models of execution: the worklist, one batch and one step, as the pages and the API show them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ebr.app.execution_context import COMPLETED, PERFORMED, READY, SKIPPED, ProcedureCache, load_step, parse_stored
from ebr.app.execution_resign import ResignState, load_resign_state
from ebr.app.ports import (
    Dispensing,
    EquipmentUse,
    IdentityCheck,
    StoredAction,
    StoredBatch,
    StoredDeviation,
    StoredReconciliation,
    StoredSignature,
    StoredStep,
    StoredValue,
    StoredYield,
    UnitOfWork,
)
from ebr.app.scans import in_use
from ebr.domain.steps import FieldDefinition, FormDefinition, StepDefinition

# The worklist's batches and their order: running or held first, then those done and awaiting review; newest first.
WORKLIST = {"in_progress": 0, "held": 0, "completed": 1, "in_review": 1}


@dataclass(frozen=True)
class StepLine:
    """A step record with the name its procedure gives it."""

    record: StoredStep
    name: str
    critical: bool
    needs_verifier: bool


@dataclass(frozen=True)
class BatchView:
    """A batch with its step records, deviations, actions, yields and the progress of its diagram."""

    batch: StoredBatch
    procedure_id: str
    steps: list[StepLine]
    deviations: list[StoredDeviation] = field(default_factory=list)
    actions: list[StoredAction] = field(default_factory=list)
    yields: list[StoredYield] = field(default_factory=list)
    reconciliations: list[StoredReconciliation] = field(default_factory=list)
    done: frozenset[str] = frozenset()
    current: frozenset[str] = frozenset()
    process_of: dict[str, str] = field(default_factory=dict)
    equipment: list[EquipmentUse] = field(default_factory=list)
    checks: list[IdentityCheck] = field(default_factory=list)
    dispensings: list[Dispensing] = field(default_factory=list)

    @property
    def open_steps(self) -> list[StepLine]:
        """Steps someone must act on now: ready, or performed and awaiting verification."""
        return [line for line in self.steps if line.record.status in (READY, PERFORMED)]


@dataclass(frozen=True)
class FieldView:
    """A field with its value in force and every value it held, the original first (AUD-04)."""

    field: FieldDefinition
    current: StoredValue | None
    history: list[StoredValue]


@dataclass(frozen=True)
class StepView:
    """Everything the step page shows."""

    batch: StoredBatch
    record: StoredStep
    step: StepDefinition
    form: FormDefinition
    fields: list[FieldView]
    signatures: list[StoredSignature]
    deviations: list[StoredDeviation]
    variables: dict[str, object]
    equipment: list[EquipmentUse] = field(default_factory=list)  # scanned at this step
    in_use: EquipmentUse | None = None  # the instance of the step's class it works with (this step's or earlier)
    checks: list[IdentityCheck] = field(default_factory=list)
    dispensings: list[Dispensing] = field(default_factory=list)
    resign: ResignState = field(default_factory=ResignState)  # invalidated signatures and re-signing owed (SIG-03)


def _lines(uow: UnitOfWork, cache: ProcedureCache, batch: StoredBatch) -> list[StepLine]:
    steps = cache.get(uow, batch.batch.procedure_version_id).steps
    return [
        StepLine(
            r,
            steps[r.step_id].name if r.step_id in steps else r.step_id,
            steps[r.step_id].critical if r.step_id in steps else False,
            bool(steps[r.step_id].verifier_roles) if r.step_id in steps else False,
        )
        for r in uow.batches.steps(batch.id)
    ]


def batch_view(uow: UnitOfWork, cache: ProcedureCache, batch_id: str) -> BatchView:
    """One batch as its page shows it."""
    batch = uow.batches.get(batch_id)
    procedure = cache.get(uow, batch.batch.procedure_version_id)
    lines = _lines(uow, cache, batch)
    return BatchView(
        batch,
        procedure.bundle.procedure_id,
        lines,
        uow.deviations.for_batch(batch.id),
        uow.batch_actions.for_batch(batch.id),
        uow.yields.yields(batch.id),
        uow.yields.reconciliations(batch.id),
        frozenset(line.record.step_id for line in lines if line.record.status in (COMPLETED, SKIPPED)),
        frozenset(line.record.step_id for line in lines if line.record.status in (READY, PERFORMED)),
        {step.id: step.process_id for step in procedure.steps.values()},
        uow.equipment_uses.for_batch(batch.id),
        uow.identity_checks.for_batch(batch.id),
        uow.dispensings.for_batch(batch.id),
    )


def worklist_views(uow: UnitOfWork, cache: ProcedureCache, batches: list[StoredBatch]) -> list[BatchView]:
    """The worklist's cards of these batches: each with its open steps, read for all of them at once."""
    open_records: dict[int, list[StoredStep]] = {b.id: [] for b in batches}
    for record in uow.batches.open_steps_of(open_records):
        open_records[record.batch_id].append(record)
    views = []
    for batch in batches:
        procedure = cache.get(uow, batch.batch.procedure_version_id)
        steps = procedure.steps
        lines = [
            StepLine(r, steps[r.step_id].name, steps[r.step_id].critical, bool(steps[r.step_id].verifier_roles))
            for r in open_records[batch.id]
        ]
        views.append(BatchView(batch, procedure.bundle.procedure_id, lines))
    return views


def step_view(uow: UnitOfWork, cache: ProcedureCache, batch_id: str, step_pk: int) -> StepView:
    """One step record as its page shows it, with the batch's values its instructions may name."""
    context = load_step(uow, cache, batch_id, step_pk, lock=False)
    values = uow.step_values.for_step(step_pk)
    fields = [
        FieldView(
            f,
            next((v for v in reversed(values) if v.field_id == f.id), None),
            [v for v in values if v.field_id == f.id],
        )
        for f in context.form.fields
    ]
    every = {f.id: f for form in context.procedure.forms.values() for f in form.fields}
    latest = uow.step_values.latest(context.batch.id, frozenset(every))
    return StepView(
        context.batch,
        context.record,
        context.step,
        context.form,
        fields,
        uow.signatures.for_object("batch_step", str(step_pk)),
        [d for d in uow.deviations.for_batch(context.batch.id) if d.step_record_id == step_pk],
        {name: parse_stored(every.get(name), value.value) for name, value in latest.items()},
        uow.equipment_uses.for_step(step_pk),
        in_use(uow, context, context.step.equipment_class) if context.step.equipment_class else None,
        uow.identity_checks.for_step(step_pk),
        uow.dispensings.for_step(step_pk),
        load_resign_state(uow, context.batch.id, step_pk),
    )
