"""What QA reviews of one batch: its records, their exceptions, its audit trail and what blocks its release.

Read inside the caller's unit of work, so the review page, an acknowledgement and the release signature all judge
the same committed state (the release reads it with the batch locked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from ebr.app.batch_scope import BatchRows, batch_objects
from ebr.app.execution_context import PERFORMED, READY, Procedure, ProcedureCache
from ebr.app.execution_resign import resign_blockers, resigned_keys
from ebr.app.ports import (
    Dispensing,
    EquipmentUse,
    IdentityCheck,
    StoredAction,
    StoredBatch,
    StoredDeviation,
    StoredReconciliation,
    StoredStep,
    StoredValue,
    StoredYield,
    UnitOfWork,
)
from ebr.app.ports.review import ReviewMark, SignatureRef, TrailReview
from ebr.app.release_checks import item_blockers
from ebr.domain.audit import GENESIS_HASH, Action, AuditEntry, to_utc_text
from ebr.domain.review import (
    ACTION_KINDS,
    ExceptionKind,
    Finding,
    ReleaseState,
    ReviewException,
    ReviewFacts,
    blockers,
    classify,
    missing_signatures,
    outside_tolerance,
    unacknowledged,
)

REVIEWED = "reviewed"


@dataclass(frozen=True)
class Evidence:
    """A batch's records as review by exception reads them, with its exceptions and its audit trail."""

    batch: StoredBatch
    procedure: Procedure
    steps: list[StoredStep]
    names: dict[int, str]
    deviations: list[StoredDeviation]
    step_signatures: list[SignatureRef]
    trail: list[AuditEntry]
    exceptions: list[ReviewException]

    @property
    def head(self) -> tuple[int, str]:
        """The last entry of the batch's trail: what an 'audit trail reviewed' signature covers."""
        return (self.trail[-1].seq, self.trail[-1].hash) if self.trail else (0, GENESIS_HASH)

    def step_signers(self) -> dict[str, set[int]]:
        """Who signed the batch's steps, by meaning."""
        found: dict[str, set[int]] = defaultdict(set)
        for sig in self.step_signatures:
            found[sig.meaning].add(sig.signer_id)
        return found

    def entries_of(self, exception: ReviewException) -> list[AuditEntry]:
        """The audit entries an exception concerns: those of its objects, and the entries it is itself."""
        objects, seqs = set(exception.objects), set(exception.entries)
        return [e for e in self.trail if (e.draft.object_type, e.draft.object_id) in objects or e.seq in seqs]


def _names(procedure: Procedure, steps: Sequence[StoredStep]) -> dict[int, str]:
    named = {}
    for s in steps:
        definition = procedure.steps.get(s.step_id)
        named[s.id] = f"{definition.name if definition else s.step_id} (pass {s.iteration})"
    return named


def _tolerance(procedure: Procedure, step_id: str, material: str) -> Decimal | None:
    definition = procedure.steps.get(step_id)
    if definition is None:
        return None
    lines = procedure.form(definition).reconciliation
    return next((line.tolerance for line in lines if line.material == material), None)


def _actions(actions: Sequence[StoredAction], names: Mapping[int, str]) -> list[Finding]:
    return [
        Finding(
            f"action:{a.id}",
            ExceptionKind.BATCH_ACTION,
            f"{a.kind}{' of ' + names.get(a.step_record_id, '') if a.step_record_id else ''}: {a.reason}",
            a.step_record_id,
            a.applied_at or a.requested_at,
            (("batch_action", str(a.id)),),
        )
        for a in actions
        if a.status == "applied" and a.kind in ACTION_KINDS
    ]


def _reconciliations(
    recs: Sequence[StoredReconciliation], steps: Mapping[int, StoredStep], procedure: Procedure
) -> list[Finding]:
    found = []
    for r in recs:
        tolerance = _tolerance(procedure, steps[r.step_record_id].step_id, r.material_code)
        if outside_tolerance(r.discrepancy, tolerance):
            allowed = f"tolerance {tolerance} {r.unit}" if tolerance is not None else "no tolerance"
            found.append(
                Finding(
                    f"reconciliation:{r.id}",
                    ExceptionKind.RECONCILIATION,
                    f"{r.material_code}: discrepancy {r.discrepancy} {r.unit} beyond its {allowed}",
                    r.step_record_id,
                    r.recorded_at,
                    (("material_reconciliation", str(r.id)),),
                )
            )
    return found


@dataclass(frozen=True)
class _Records:
    """Each of the batch's record kinds, read once."""

    steps: list[StoredStep]
    values: list[StoredValue]
    deviations: list[StoredDeviation]
    actions: list[StoredAction]
    yields: list[StoredYield]
    reconciliations: list[StoredReconciliation]
    uses: list[EquipmentUse]
    checks: list[IdentityCheck]
    dispensings: list[Dispensing]
    samples: list[int]
    attachments: list[int]


def _read(uow: UnitOfWork, batch: StoredBatch) -> _Records:
    return _Records(
        uow.batches.steps(batch.id),
        uow.step_values.for_batch(batch.id),
        uow.deviations.for_batch(batch.id),
        uow.batch_actions.for_batch(batch.id),
        uow.yields.yields(batch.id),
        uow.yields.reconciliations(batch.id),
        uow.equipment_uses.for_batch(batch.id),
        uow.identity_checks.for_batch(batch.id),
        uow.dispensings.for_batch(batch.id),
        [s.id for s in uow.samples.for_batch(batch.id)],
        [a.id for a in uow.attachments.for_batch(batch.id)],
    )


def _objects(batch: StoredBatch, records: _Records, signatures: Sequence[SignatureRef]) -> dict[str, set[str]]:
    """The batch's critical data by audited object type: the objects whose entries make up its trail (AUD-09)."""
    return batch_objects(
        BatchRows(
            batch.id,
            batch.order_id,
            (s.id for s in records.steps),
            (v.id for v in records.values),
            (d.id for d in records.deviations),
            (a.id for a in records.actions),
            (y.id for y in records.yields),
            (r.id for r in records.reconciliations),
            (u.id for u in records.uses),
            (c.id for c in records.checks),
            (d.id for d in records.dispensings),
            (d.label for d in records.dispensings),
            (s.id for s in signatures),
            samples=records.samples,
            attachments=records.attachments,
        )
    )


def _scans_and_faults(records: _Records, trail: Sequence[AuditEntry]) -> list[Finding]:
    """Refused scans, and captures that failed at the device."""
    found = [
        Finding(
            f"check:{c.id}",
            ExceptionKind.FAILED_SCAN,
            f"{c.kind} scan {c.barcode!r} refused: {c.reason}",
            c.step_record_id,
            c.checked_at,
            (("identity_check", str(c.id)),),
            deviation_pk=c.deviation_id,
        )
        for c in records.checks
        if not c.passed
    ]
    return found + [
        Finding(
            f"audit:{e.seq}",
            ExceptionKind.DEVICE_ERROR,
            f"capture of {e.draft.field or 'a value'} failed: {e.draft.new_value or ''}",
            int(e.draft.object_id),
            e.draft.at,
            entries=(e.seq,),
        )
        for e in trail
        if e.draft.action is Action.DEVICE_FAULT and e.draft.object_type == "step_record"
    ]


def _outside_limits(records: _Records) -> list[Finding]:
    """Yields and dispensed quantities outside their limits."""
    found = [
        Finding(
            f"yield:{y.id}",
            ExceptionKind.YIELD,
            f"yield {y.yield_percent} % of theoretical outside {y.low or '-'} to {y.high or '-'} %",
            y.step_record_id,
            y.recorded_at,
            (("batch_yield", str(y.id)),),
            deviation_pk=y.deviation_id,
        )
        for y in records.yields
        if not y.within
    ]
    return found + [
        Finding(
            f"dispensing:{d.id}",
            ExceptionKind.OUT_OF_LIMIT,
            f"{d.material_code} dispensed {d.net} {d.unit}, target {d.target} ± {d.tolerance} {d.unit}",
            d.step_record_id,
            d.dispensed_at,
            (("dispensing", str(d.id)),),
            deviation_pk=d.deviation_id,
        )
        for d in records.dispensings
        if not d.within
    ]


def gather(uow: UnitOfWork, cache: ProcedureCache, batch: StoredBatch) -> Evidence:
    """Read the batch's records, classify its exceptions and collect its audit trail (QA-03, AUD-09)."""
    procedure = cache.get(uow, batch.batch.procedure_version_id)
    records = _read(uow, batch)
    names = _names(procedure, records.steps)
    step_sigs = uow.reviews.signatures("batch_step", {str(s.id) for s in records.steps})
    action_sigs = uow.reviews.signatures("batch_action", {str(a.id) for a in records.actions})
    trail = uow.reviews.trail(_objects(batch, records, step_sigs + action_sigs))
    by_pk = {s.id: s for s in records.steps}
    findings = _scans_and_faults(records, trail) + _outside_limits(records) + _actions(records.actions, names)
    findings += _reconciliations(records.reconciliations, by_pk, procedure)
    labels = {f.id: f.label for form in procedure.forms.values() for f in form.fields}
    facts = ReviewFacts(names, records.steps, records.values, step_sigs, records.deviations, findings, labels)
    return Evidence(batch, procedure, records.steps, names, records.deviations, step_sigs, trail, classify(facts))


def signed_reviews(uow: UnitOfWork, batch: StoredBatch) -> list[tuple[TrailReview, list[SignatureRef]]]:
    """The batch's audit-trail reviews that carry their 'reviewed' signature, oldest first."""
    reviews = uow.reviews.trail_reviews(batch.id)
    sigs = uow.reviews.signatures("batch_review", {str(r.id) for r in reviews})
    signed = []
    for review in reviews:
        own = [s for s in sigs if s.object_id == str(review.id) and s.meaning == REVIEWED]
        if own:
            signed.append((review, own))
    return signed


def release_state(uow: UnitOfWork, evidence: Evidence, marks: Sequence[ReviewMark]) -> ReleaseState:
    """Everything but the release candidate that must be settled before release (QA-02, AUD-09)."""
    steps = evidence.steps
    verifier = {
        s.id: bool(evidence.procedure.steps[s.step_id].verifier_roles)
        for s in steps
        if s.step_id in evidence.procedure.steps
    }
    signed: dict[int, set[str]] = defaultdict(set)
    for sig in evidence.step_signatures:
        signed[int(sig.object_id)].add(sig.meaning)
    reviews = signed_reviews(uow, evidence.batch)
    latest = reviews[-1][0] if reviews else None
    current = latest is not None and (latest.head_seq, latest.head_hash) == evidence.head
    return ReleaseState(
        open_deviations=[d.number for d in evidence.deviations if d.status != "closed"],
        unsigned_steps=[evidence.names[pk] for pk in missing_signatures(steps, verifier, signed)],
        incomplete_steps=[evidence.names[s.id] for s in steps if s.status == READY],
        awaiting_verification=[evidence.names[s.id] for s in steps if s.status == PERFORMED],
        # An invalidated signature re-signed since stays listed as history but blocks no more (SIG-03).
        unacknowledged=unacknowledged(
            evidence.exceptions, {m.key for m in marks} | resigned_keys(uow, evidence.batch.id, (s.id for s in steps))
        ),
        audit_reviewed=latest is not None,
        audit_changed_after=latest.head_seq if latest is not None and not current else None,
    )


def release_blockers(
    uow: UnitOfWork, evidence: Evidence, marks: Sequence[ReviewMark], candidate: str | None
) -> list[str]:
    """Every reason the batch cannot be released now, the release candidate's included (QA-02)."""
    state = release_state(uow, evidence, marks)
    other = item_blockers(uow, evidence.procedure, evidence.batch, evidence.steps)
    named = [(step.id, evidence.names[step.id]) for step in evidence.steps]
    other += resign_blockers(uow, evidence.batch.id, named)  # SIG-03
    other += [candidate] if candidate else []
    return blockers(evidence.batch.batch, replace(state, other=tuple(other)))


def head_text(evidence: Evidence) -> str:
    """The trail's last entry as people read it."""
    seq, digest = evidence.head
    last = evidence.trail[-1].draft.at if evidence.trail else None
    return f"entry #{seq} ({digest[:12]}){' at ' + to_utc_text(last) if last else ''}"
