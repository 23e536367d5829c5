"""Completing a step: the performer's signature, the verifier's where configured, then the engine moves on.

Signing "performed" checks every required value, computes the calculated values, the yield and the
reconciliation on the server, and (without a verifier) completes the engine task. Signing "verified" does the
last part. Both run inside the signature's unit of work with the batch locked: exactly one concurrent
signer wins (SEQ-03), and a refused completion leaves values, step and engine state as they were.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ebr.app.context import AuditContext, RequestInfo
from ebr.app.deviations import open_in
from ebr.app.device_release import check_device_release
from ebr.app.dispensing import record_dispensing
from ebr.app.engine_advance import finish
from ebr.app.execution_context import (
    COMPLETED,
    PERFORMED,
    READY,
    ProcedureCache,
    StepContext,
    assemble,
    check_open,
    check_performer,
    current_values,
    known_roles,
    parse_stored,
)
from ebr.app.execution_results import record_calculated, record_yield
from ebr.app.packaging import check_line_clear
from ebr.app.policy import effective_policy
from ebr.app.ports import BatchEngine, StoredSignature, StoredValue, UnitOfWork
from ebr.app.sampling import record_sample
from ebr.app.scans import check_equipment
from ebr.app.training import require_training
from ebr.domain.accounts import User
from ebr.domain.audit import to_utc_text
from ebr.domain.deviations import DeviationKind, Severity
from ebr.domain.errors import Conflict, PermissionDenied
from ebr.domain.records import HoldNotElapsed, Source
from ebr.domain.signatures import SitePolicy

if TYPE_CHECKING:  # the postings module reads the record, which reads these modules
    from ebr.app.erp_postings import ErpPostings


class StepIncomplete(Conflict):
    """A required value or check is missing: the step cannot be signed yet (SEQ-02)."""


def step_context(uow: UnitOfWork, cache: ProcedureCache, step_pk: int) -> StepContext:
    """The step record named by a signature's object id, with its batch locked, then the record re-read."""
    batch = uow.batches.lock_pk(uow.batches.step(step_pk).batch_id)
    return assemble(uow, cache, batch, uow.batches.step(step_pk))


def check_person(uow: UnitOfWork, context: StepContext, user: User, request: RequestInfo, at: datetime) -> None:
    """Training (ACC-09) and terminal (DEV-05) conditions of the step, for anyone who enters or signs."""
    if context.step.training:
        require_training(uow, user.id, context.step.training, at)
    if context.step.registered_terminal and not request.terminal_registered:
        raise PermissionDenied(f"Step {context.step.name!r} may be performed only from a registered terminal.")


def narrowed(policy: SitePolicy, context: StepContext) -> SitePolicy:
    """The site policy with the step's own performer and verifier roles, which may only narrow it."""
    declared = {"performed": context.step.performer_roles, "verified": context.step.verifier_roles}
    rules = []
    for rule in policy.rules:
        roles = known_roles(declared.get(rule.meaning, frozenset()))
        narrow = rule.object_type == "batch_step" and roles
        rules.append(replace(rule, roles=rule.roles & roles) if narrow else rule)
    return replace(policy, rules=tuple(rules))


def check_complete(context: StepContext, uow: UnitOfWork) -> None:
    """Every required field has a value, and every double-entry field was confirmed (SEQ-02, DEV-04)."""
    values = current_values(uow.step_values.for_step(context.record.id))
    missing = [
        f.label
        for f in context.form.fields
        if f.type != "calculated" and f.required and (f.id not in values or values[f.id].value is None)
    ]
    unchecked = [
        f.label for f in context.form.fields if f.double_entry and f.id in values and not values[f.id].double_checked
    ]
    if missing or unchecked:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not confirmed by a second entry: {', '.join(unchecked)}"] if unchecked else []
        raise StepIncomplete(f"Step {context.step.name!r} cannot be signed: {'; '.join(parts)}.")


def check_hold_window(uow: UnitOfWork, context: StepContext, now: datetime) -> None:
    """Not before the minimum hold (211.111); past the maximum, a deviation if the poller has not opened one."""
    record = context.record
    if record.hold_earliest is not None and now < record.hold_earliest:
        raise HoldNotElapsed(f"The minimum hold time has not elapsed: proceed at {to_utc_text(record.hold_earliest)}.")
    if record.hold_latest is not None and now > record.hold_latest and record.hold_deviation_id is None:
        deviation = open_in(
            uow,
            context.batch,
            record.id,
            DeviationKind.HOLD_EXCEEDED,
            Severity.MAJOR,
            f"Maximum hold time before {context.step.name!r} exceeded (latest {to_utc_text(record.hold_latest)}).",
            "",
            now,
            None,
        )
        uow.batches.update_step(record.id, record.version, hold_deviation_id=deviation.id)


def engine_values(context: StepContext, uow: UnitOfWork) -> Mapping[str, object]:
    """The step's values as the engine takes them; it keeps only the names the procedure reads."""
    values = current_values(uow.step_values.for_step(context.record.id))
    fields = {f.id: f for f in context.form.fields}
    return {name: parse_stored(fields.get(name), value.value) for name, value in values.items()}


def _entered(value: StoredValue) -> bool:
    return value.source != str(Source.CALCULATED) and not value.after_signing


class StepSignable:
    """A step record signed "performed" by its performer and "verified" by a second person."""

    object_type = "batch_step"

    def __init__(self, cache: ProcedureCache, engine: BatchEngine, postings: ErpPostings | None = None) -> None:
        self._cache = cache
        self._engine = engine
        self._postings = postings  # the ERP hears of the batch's completion in the same transaction
        # The signature service asks for content, policy and reason several times in one transaction.
        self._seen: weakref.WeakKeyDictionary[UnitOfWork, dict[int, StepContext]] = weakref.WeakKeyDictionary()
        self._policies: weakref.WeakKeyDictionary[UnitOfWork, dict[int, SitePolicy]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _context(self, uow: UnitOfWork, object_id: str) -> StepContext:
        """The step's context, read once per transaction (the first read takes the batch lock)."""
        with self._lock:
            known = self._seen.get(uow, {}).get(int(object_id))
        if known is None:
            known = step_context(uow, self._cache, int(object_id))
            with self._lock:
                self._seen.setdefault(uow, {})[int(object_id)] = known
        return known

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        """What the performer and the verifier sign: the step and the values entered for it.

        Only what cannot change once signed: no status, no value computed at signing, no signed correction
        (which carries its own signature), so `ebr verify signatures` can check it for the life of the record."""
        context = self._context(uow, object_id)
        entered = [v for v in uow.step_values.for_step(context.record.id) if _entered(v)]
        values = current_values(entered)
        return {
            "object": "batch_step",
            "batch": context.batch.batch.id,
            "procedure_hash": context.batch.batch.procedure_hash,
            "step": context.step.id,
            "name": context.step.name,
            "iteration": context.record.iteration,
            "values": {f: {"value": v.value, "unit": v.unit, "entry": v.id} for f, v in sorted(values.items())},
            "equipment": sorted({use.equipment_code for use in uow.equipment_uses.for_step(context.record.id)}),
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        context = self._context(uow, object_id)
        with self._lock:
            known = self._policies.get(uow, {}).get(int(object_id))
        if known is None:
            known = narrowed(effective_policy(uow), context)
            with self._lock:
                self._policies.setdefault(uow, {})[int(object_id)] = known
        return known

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        context = self._context(uow, object_id)
        return f"step {context.step.name} (pass {context.record.iteration}) of batch {context.batch.batch.id} signed"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        context = self._context(uow, object_id)  # read under the batch lock in this same transaction
        signer = uow.users.get(signature.signer_id)
        if signature.meaning == "performed":
            self._performed(uow, context, signer, ctx)
        elif signature.meaning == "verified":
            self._verified(uow, context, signer, ctx)
        else:
            raise Conflict(f"A step is not signed {signature.meaning!r}.")

    def after_signed(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        """The signature is recorded: a batch this step completed is posted to the ERP in the same transaction."""
        if self._postings is not None:
            self._postings.after_change(uow, uow.batches.step(int(object_id)).batch_id, ctx.at)

    def _performed(self, uow: UnitOfWork, context: StepContext, signer: User, ctx: AuditContext) -> None:
        check_open(context, READY)
        check_performer(context, signer)
        check_person(uow, context, signer, ctx.request, ctx.at)
        check_complete(context, uow)
        check_device_release(uow, context, ctx.at)
        check_line_clear(uow, context)
        check_equipment(uow, context, ctx.at)
        check_hold_window(uow, context, ctx.at)
        record_calculated(uow, context, signer.id, ctx)
        record_yield(uow, context, signer.id, ctx.at)
        record_dispensing(uow, context, signer.id, ctx)
        record_sample(uow, context, signer.id, ctx)
        record = uow.batches.step(context.record.id)
        performed = {"performed_by": signer.id, "performed_at": ctx.at}
        if context.step.verifier_roles:
            uow.batches.update_step(record.id, record.version, status=PERFORMED, **performed)
        else:
            finish(uow, self._engine, replace(context, record=record), engine_values(context, uow), ctx.at, performed)

    def _verified(self, uow: UnitOfWork, context: StepContext, signer: User, ctx: AuditContext) -> None:
        check_open(context, PERFORMED)
        check_person(uow, context, signer, ctx.request, ctx.at)
        verified = {"verified_by": signer.id, "verified_at": ctx.at}
        finish(uow, self._engine, context, engine_values(context, uow), ctx.at, verified)


__all__ = ["COMPLETED", "StepIncomplete", "StepSignable"]
