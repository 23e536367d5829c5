"""Executing a batch: values entered one by one and saved at once, deviations reported, signed batch actions
requested, the overdue-hold poller, and the views of the worklist, a batch and a step.

Signing a step or an action goes through the signature service (StepSignable, BatchActionSignable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta

from ebr.app.accounts import require, require_reason
from ebr.app.batch_actions import DEVIATION_KINDS, KINDS, STEP_KINDS
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.deviations import open_in, severity_of
from ebr.app.execution_context import READY, ProcedureCache, check_open, check_performer, load_step
from ebr.app.execution_corrections import Entry, store
from ebr.app.execution_results import CalculationFailed, evaluate
from ebr.app.execution_views import WORKLIST, BatchView, StepView, batch_view, step_view, worklist_views
from ebr.app.execution_voids import void_entry
from ebr.app.incidents import open_incident
from ebr.app.paging import PAGE_SIZE, Page, offset_of
from ebr.app.ports import Clock, StoredAction, StoredDeviation, StoredValue, UnitOfWorkFactory
from ebr.app.scans import ScanRefused
from ebr.app.step_completion import check_person
from ebr.domain.accounts import Permission
from ebr.domain.audit import to_utc_text
from ebr.domain.batch import check_not_decided
from ebr.domain.configuration import GmpSettings
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.errors import InvalidInput
from ebr.domain.records import is_late_entry
from ebr.domain.steps import FieldDefinition

# Who may request each kind of action; the site policy then decides who may sign it.
REQUEST_PERMISSION = {
    **{kind: Permission.BATCH_HOLD for kind in ("hold", "resume", "cancel", "skip", "reassign")},
    "correct": Permission.BATCH_EXECUTE,
    "disposition": Permission.BATCH_VIEW,
    "close": Permission.BATCH_VIEW,
    "result": Permission.BATCH_REVIEW,  # QA links a laboratory result (ebr.app.sampling)
    "resign_performed": Permission.BATCH_EXECUTE,  # re-signing after a correction (ebr.app.execution_resign)
    "resign_verified": Permission.BATCH_VIEW,  # as verifying: the second person may hold only the view
}


class ExecutionService:
    """Use cases of operators, verifiers and supervisors on a running batch."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache: ProcedureCache) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache

    def _ctx(self, actor: Actor, reason: str = "", request: RequestInfo | None = None) -> AuditContext:
        return AuditContext(actor, self._clock.now(), reason, request or RequestInfo())

    def enter(self, actor: Actor, batch_id: str, step_pk: int, entry: Entry, request: RequestInfo) -> StoredValue:
        """Save one value the moment it is entered (TIME-03); refused on a step that is not ready (SEQ-01)."""
        ctx = self._ctx(actor, entry.change_reason or "value entered", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            user = uow.users.get(actor.user_id)
            require(user, Permission.BATCH_EXECUTE)
            context = load_step(uow, self._cache, batch_id, step_pk)
            check_open(context, READY)
            check_performer(context, user)
            check_person(uow, context, user, request, ctx.at)
            window = timedelta(minutes=GmpSettings.from_stored(uow.settings.stored())["execution.late_entry_minutes"])
            late = is_late_entry(context.record.became_ready_at, ctx.at, window)
            try:
                value = store(uow, context, entry, user.id, ctx, late)
            except ScanRefused:
                uow.commit()  # the refused scan and its audit entry stay on record (SEQ-07)
                raise
            uow.commit()
        return value

    def void(
        self, actor: Actor, batch_id: str, step_pk: int, value_pk: int, reason: str, request: RequestInfo
    ) -> StoredValue:
        """Void an entry of a step not yet signed, with its reason; the entry stays on record (REC-02, REC-04)."""
        why = require_reason(reason)
        ctx = self._ctx(actor, f"entry voided: {why}", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            user = uow.users.get(actor.user_id)
            require(user, Permission.BATCH_EXECUTE)
            voided = void_entry(uow, load_step(uow, self._cache, batch_id, step_pk), value_pk, user, why, ctx)
            uow.commit()
        return voided

    def field(self, batch_id: str, step_pk: int, field_id: str) -> FieldDefinition:
        """One field of the step's form; a step of another batch is not found, an unknown field is bad input."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return load_step(uow, self._cache, batch_id, step_pk, lock=False).field(field_id)

    def calculate(self, batch_id: str, step_pk: int) -> dict[str, str]:
        """The step's calculated fields from the values recorded so far, for the page to show live."""
        with self._uow(self._ctx(Actor.system())) as uow:
            context = load_step(uow, self._cache, batch_id, step_pk, lock=False)
            shown = {}
            for field in context.form.fields:
                if field.type == "calculated":
                    try:
                        shown[field.id] = f"{evaluate(context, uow, field.expression, field.label)} {field.unit}"
                    except CalculationFailed as exc:
                        shown[field.id] = str(exc)
        return shown

    def report_deviation(
        self,
        actor: Actor,
        batch_id: str,
        step_pk: int | None,
        severity: str,
        description: str,
        immediate_action: str,
        request: RequestInfo,
    ) -> StoredDeviation:
        """An operator's report of something outside the procedure (QA-01)."""
        ctx = self._ctx(actor, "deviation reported", request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), Permission.BATCH_EXECUTE)
            batch = uow.batches.lock(batch_id)
            check_not_decided(batch.batch)
            if step_pk is not None:
                load_step(uow, self._cache, batch_id, step_pk, lock=False)
            deviation = open_in(
                uow,
                batch,
                step_pk,
                DeviationKind.OPERATOR_REPORT,
                severity_of(severity),
                description,
                immediate_action,
                ctx.at,
                actor.user_id,
            )
            uow.commit()
        return deviation

    def request_action(
        self,
        actor: Actor,
        batch_id: str,
        kind: str,
        reason: str,
        request: RequestInfo,
        step_pk: int | None = None,
        deviation_pk: int | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> StoredAction:
        """A hold, resume, cancel, skip, reassign, correction, disposition or closure, pending its signature."""
        if kind not in KINDS:
            raise InvalidInput(f"Unknown batch action {kind!r}; known: {', '.join(KINDS)}.")
        why = require_reason(reason)
        ctx = self._ctx(actor, why, request)
        with self._uow(ctx) as uow:
            assert actor.user_id is not None
            require(uow.users.get(actor.user_id), REQUEST_PERMISSION[kind])
            batch = uow.batches.lock(batch_id)
            check_not_decided(batch.batch)
            if (kind in STEP_KINDS) != (step_pk is not None):
                raise InvalidInput(f"A {kind} {'needs' if kind in STEP_KINDS else 'takes no'} step.")
            if step_pk is not None:
                load_step(uow, self._cache, batch_id, step_pk, lock=False)
            if (kind in DEVIATION_KINDS) != (deviation_pk is not None):
                raise InvalidInput(f"A {kind} {'needs' if kind in DEVIATION_KINDS else 'takes no'} deviation.")
            if deviation_pk is not None and uow.deviations.get(deviation_pk).batch_id != batch.id:
                raise InvalidInput(f"The deviation is not one of batch {batch_id}.")
            action = uow.batch_actions.add(
                StoredAction(
                    0,
                    batch.id,
                    step_pk,
                    deviation_pk,
                    kind,
                    why,
                    json.dumps(dict(parameters or {}), sort_keys=True),
                    actor.user_id,
                    ctx.at,
                    "pending",
                )
            )
            uow.commit()
        return action

    def raise_overdue_holds(self) -> int:
        """The poller: a deviation and an incident for each step past its maximum hold, opened or not (211.111)."""
        with self._uow(self._ctx(Actor.system())) as uow:
            overdue = uow.batches.overdue_steps(self._clock.now())
        raised = 0
        for record in overdue:
            ctx = self._ctx(Actor.system(), "maximum hold time exceeded")
            with self._uow(ctx) as uow:
                batch = uow.batches.lock_pk(record.batch_id)
                current = uow.batches.step(record.id)
                if current.hold_deviation_id is not None or current.status not in ("ready", "performed"):
                    continue  # someone completed it or the poller of another worker was first
                assert current.hold_latest is not None
                name = self._cache.get(uow, batch.batch.procedure_version_id).steps[current.step_id].name
                text = f"Maximum hold time before {name!r} exceeded (latest {to_utc_text(current.hold_latest)})."
                deviation = open_in(
                    uow, batch, current.id, DeviationKind.HOLD_EXCEEDED, Severity.MAJOR, text, "", ctx.at, None
                )
                uow.batches.update_step(current.id, current.version, hold_deviation_id=deviation.id)
                open_incident(
                    uow,
                    f"hold-overdue:{current.id}",
                    "hold_exceeded",
                    "warning",
                    f"batch {batch.batch.id}",
                    f"{text} Deviation {deviation.number} opened.",
                    ctx.at,
                )
                uow.commit()
                raised += 1
        return raised

    def worklist(self, number: int = 1, size: int = PAGE_SIZE) -> Page[BatchView]:
        """One page of the batches in progress, on hold or awaiting review, with their open steps; running first."""
        with self._uow(self._ctx(Actor.system())) as uow:
            total = uow.batches.count(WORKLIST)
            start = offset_of(number, total, size)
            batches = uow.batches.listed(WORKLIST, start, size, newest_first=True)
            return Page(worklist_views(uow, self._cache, batches), start // size + 1, size, total)

    def batch(self, batch_id: str) -> BatchView:
        """One batch: every step record, deviation, action, yield and reconciliation, and the diagram state."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return batch_view(uow, self._cache, batch_id)

    def step(self, batch_id: str, step_pk: int) -> StepView:
        """One step record with its form, values and their history, signatures and hold window."""
        with self._uow(self._ctx(Actor.system())) as uow:
            return step_view(uow, self._cache, batch_id, step_pk)
