"""Acts on a batch that take effect only when signed: hold, resume, cancel, skip, reassign, correct, the
disposition and closure of a deviation, and a laboratory result linked to a sample. Each is first requested with
its reason (and parameters), then signed; the signature's unit of work applies it with the batch locked. Nothing
about a batch changes by a silent edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ebr.app.context import AuditContext
from ebr.app.deviations import close, disposition, rule_object
from ebr.app.engine_advance import finish
from ebr.app.execution_context import CANCELLED, PERFORMED, READY, SKIPPED, ProcedureCache, load_step
from ebr.app.execution_corrections import correct
from ebr.app.execution_resign import RESIGN_KINDS, apply_resign, resign_values, through_of
from ebr.app.policy import effective_policy
from ebr.app.ports import BatchEngine, StoredAction, StoredBatch, StoredSignature, UnitOfWork
from ebr.app.sampling import RESULT, apply_result
from ebr.domain.audit import Action
from ebr.domain.batch import check_can_execute, check_not_decided
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.orders import OrderStatus
from ebr.domain.signatures import SitePolicy

if TYPE_CHECKING:  # the postings module reads the record, which reads these modules
    from ebr.app.erp_postings import ErpPostings

# kind → (signature meaning, the site policy's rule object for it)
KINDS: dict[str, tuple[str, str]] = {
    "hold": ("held", "batch_hold"),
    "resume": ("resumed", "batch_hold"),
    "cancel": ("cancelled", "batch_hold"),
    "skip": ("skipped", "batch_step"),
    "reassign": ("reassigned", "batch_step"),
    "correct": ("corrected", "batch_step"),
    "disposition": ("dispositioned", "deviation"),
    "close": ("closed", "deviation"),
    RESULT: ("approved", "batch_sample"),  # a laboratory result linked to a sample (ebr.app.sampling)
    # A step re-signed after a correction, with the meaning it was signed with (ebr.app.execution_resign).
    **{kind: (meaning, "batch_step") for kind, meaning in RESIGN_KINDS.items()},
}
STEP_KINDS = frozenset({"skip", "reassign", "correct", *RESIGN_KINDS})
DEVIATION_KINDS = frozenset({"disposition", "close"})


def meaning_of(kind: str) -> str:
    """The signature meaning that applies an action of this kind."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown batch action {kind!r}; known: {', '.join(KINDS)}.")
    return KINDS[kind][0]


def payload_of(action: StoredAction) -> dict[str, str]:
    """The action's parameters."""
    loaded = json.loads(action.payload or "{}")
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


class BatchActionSignable:
    """A requested batch action, applied by the signature whose meaning its kind names."""

    object_type = "batch_action"

    def __init__(self, cache: ProcedureCache, engine: BatchEngine, postings: ErpPostings | None = None) -> None:
        self._cache = cache
        self._engine = engine
        self._postings = postings  # completion, cancellation and corrections reach the ERP in the same transaction

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        action = uow.batch_actions.get(int(object_id))
        batch = uow.batches.by_pk(action.batch_id)
        content: dict[str, object] = {
            "object": "batch_action",
            "batch": batch.batch.id,
            "action": action.kind,
            "reason": action.reason,
            "parameters": payload_of(action),
        }
        if action.step_record_id is not None:
            record = uow.batches.step(action.step_record_id)
            content["step"] = {"id": record.step_id, "iteration": record.iteration}
            if action.kind in RESIGN_KINDS:  # the step's content as it is now: what the re-signature covers
                content["values"] = resign_values(uow, record.id, through_of(action))
        if action.deviation_id is not None:
            deviation = uow.deviations.get(action.deviation_id)
            content["deviation"] = {"number": deviation.number, "severity": deviation.severity}
        return content

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        """The site rule of the act's own object, applied to the action (a minor deviation may have its own)."""
        action = uow.batch_actions.get(int(object_id))
        policy = effective_policy(uow)
        meaning, target = KINDS[action.kind]
        if action.deviation_id is not None:
            target = rule_object(policy, uow.deviations.get(action.deviation_id).severity, meaning)
        rule = policy.rule(target, meaning)
        return replace(policy, rules=(*policy.rules, replace(rule, object_type=self.object_type)))

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        return uow.batch_actions.get(int(object_id)).reason

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        action = uow.batch_actions.get(int(object_id))
        if meaning_of(action.kind) != signature.meaning:
            raise Conflict(f"A {action.kind} is applied by a {meaning_of(action.kind)!r} signature.")
        batch = uow.batches.lock_pk(action.batch_id)
        check_not_decided(batch.batch)  # requested before the decision, signed after it: refused
        uow.batch_actions.mark(action.id, "applied", ctx.at, signature.id)
        if action.kind in ("hold", "resume", "cancel"):
            self._batch_state(uow, batch, action, signature.signer_id, ctx)
        elif action.kind in DEVIATION_KINDS:
            self._deviation(uow, action, signature.signer_id, ctx)
        elif action.kind == RESULT:
            apply_result(uow, batch, action, signature.signer_id, ctx.at)
        else:
            self._step(uow, batch, action, signature, ctx)

    def after_signed(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        """The signature is recorded: completion, cancellation or a corrected quantity reach the ERP's outbox."""
        if self._postings is not None:
            self._postings.after_change(uow, uow.batch_actions.get(int(object_id)).batch_id, ctx.at)

    def _batch_state(
        self, uow: UnitOfWork, batch: StoredBatch, action: StoredAction, by: int, ctx: AuditContext
    ) -> None:
        current = batch.batch
        if action.kind == "hold":
            moved, _ = current.hold(ctx.at, by, action.reason)
            uow.batches.update_batch(moved, current.version, ctx.at)
        elif action.kind == "resume":
            moved, event = replace(current, held_since=batch.held_since).resume(ctx.at, by, action.reason)
            uow.batches.update_batch(moved, current.version, None)
            uow.audit.append(Action.STATE_CHANGE, "batch", str(batch.id), field="held_for", new=str(event.held_for))
        else:
            moved, _ = current.cancel(ctx.at, by, action.reason)
            uow.batches.update_batch(moved, current.version, None)
            for record in uow.batches.open_steps(batch.id):
                uow.batches.update_step(record.id, record.version, status=CANCELLED, completed_at=ctx.at)
            uow.orders.set_status(batch.order_id, str(OrderStatus.CANCELLED), ctx.at, action.reason)

    def _deviation(self, uow: UnitOfWork, action: StoredAction, by: int, ctx: AuditContext) -> None:
        assert action.deviation_id is not None
        stored = uow.deviations.get(action.deviation_id)
        signer = uow.users.get(by)
        policy = effective_policy(uow)
        params = payload_of(action)
        if action.kind == "disposition":
            disposition(
                uow,
                stored,
                params.get("disposition", ""),
                params.get("impact", ""),
                action.reason,
                ctx.at,
                by,
                signer.roles,
                policy,
            )
        else:
            close(uow, stored, action.reason, ctx.at, by, signer.roles, policy)

    def _step(
        self, uow: UnitOfWork, batch: StoredBatch, action: StoredAction, signature: StoredSignature, ctx: AuditContext
    ) -> None:
        assert action.step_record_id is not None
        context = load_step(uow, self._cache, batch.batch.id, action.step_record_id, lock=False)
        params = payload_of(action)
        if action.kind == "correct":
            correct(uow, context, params, action.reason, signature, ctx)
            return
        if action.kind in RESIGN_KINDS:
            apply_resign(uow, batch.id, action, signature)
            return
        check_can_execute(batch.batch)
        if context.record.status not in (READY, PERFORMED):
            raise Conflict(f"Step {context.step.name!r} is {context.record.status}: it cannot be changed now.")
        if action.kind == "reassign":
            assignee = uow.users.get(int(params.get("assignee", "0") or 0))
            uow.batches.update_step(context.record.id, context.record.version, assigned_to=assignee.id)
            return
        finish(uow, self._engine, context, {}, ctx.at)  # a gateway that needs the step's values refuses the skip
        done = uow.batches.step(context.record.id)
        uow.batches.update_step(done.id, done.version, status=SKIPPED)
