"""The evidence one batch record is built from, read in one unit of work (REC-01).

The evidence is what the normalised tables hold: the batch, its order and pinned procedure version, every step
record, value row, signature, deviation, action, yield, reconciliation, equipment use, scan check and dispensing,
the lots they name, the people they name and the audit entries of all of these objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from ebr.app.batch_scope import STEP_SIGNATURES, BatchRows, batch_objects, flat
from ebr.app.context import Actor, AuditContext
from ebr.app.execution_context import Procedure, ProcedureCache
from ebr.app.ports import (
    Dispensing,
    EquipmentUse,
    IdentityCheck,
    StoredAction,
    StoredAttachment,
    StoredBatch,
    StoredDeviation,
    StoredOrder,
    StoredReconciliation,
    StoredSample,
    StoredSignature,
    StoredStep,
    StoredValue,
    StoredVersion,
    StoredYield,
    UnitOfWork,
)
from ebr.domain.accounts import User
from ebr.domain.audit import AuditEntry
from ebr.domain.errors import NotFound
from ebr.domain.materials import Material, MaterialLot

Ordered = TypeVar("Ordered", StoredSignature, StoredAction)
ACTION_SIGNATURES = "batch_action"
APPROVAL_SIGNATURES = "procedure_version"


@dataclass(frozen=True)
class Evidence:
    """Everything stored about one batch, each list ordered by id."""

    batch: StoredBatch
    order: StoredOrder
    version: StoredVersion
    procedure: Procedure
    product: Material | None
    steps: tuple[StoredStep, ...]
    values: tuple[StoredValue, ...]
    signatures: tuple[StoredSignature, ...]  # of the batch's step records and actions
    approvals: tuple[StoredSignature, ...]  # of the pinned procedure version
    deviations: tuple[StoredDeviation, ...]
    actions: tuple[StoredAction, ...]
    yields: tuple[StoredYield, ...]
    reconciliations: tuple[StoredReconciliation, ...]
    uses: tuple[EquipmentUse, ...]
    checks: tuple[IdentityCheck, ...]
    dispensings: tuple[Dispensing, ...]
    lots: Mapping[tuple[str, str], MaterialLot]
    people: Mapping[int, User]
    audit: tuple[AuditEntry, ...]
    samples: tuple[StoredSample, ...] = ()
    attachments: tuple[StoredAttachment, ...] = ()


def system_context(at: datetime) -> AuditContext:
    """Reads change nothing: they run as the system."""
    return AuditContext(Actor.system(), at)


def _by_id(items: Iterable[Ordered]) -> tuple[Ordered, ...]:
    return tuple(sorted(items, key=lambda item: item.id))


def _signatures(
    uow: UnitOfWork, steps: Iterable[StoredStep], actions: Iterable[StoredAction]
) -> tuple[StoredSignature, ...]:
    found = [s for step in steps for s in uow.signatures.for_object(STEP_SIGNATURES, str(step.id))]
    found += [s for action in actions for s in uow.signatures.for_object(ACTION_SIGNATURES, str(action.id))]
    return _by_id(found)


def _lots(uow: UnitOfWork, dispensings: Iterable[Dispensing]) -> dict[tuple[str, str], MaterialLot]:
    lots = {}
    for key in sorted({(d.material_code, d.lot_number) for d in dispensings}):
        lot = uow.lots.get(*key)
        if lot is not None:
            lots[key] = lot
    return lots


def gather(uow: UnitOfWork, cache: ProcedureCache, batch_id: str) -> Evidence:
    """The batch's evidence; the batch is locked so writers on it wait and the reads agree with each other."""
    batch = uow.batches.lock(batch_id)
    order = uow.orders.get(batch.order_id)
    version = uow.procedures.get(batch.batch.procedure_version_id)
    steps = tuple(uow.batches.steps(batch.id))
    actions = _by_id(uow.batch_actions.for_batch(batch.id))
    dispensings = tuple(uow.dispensings.for_batch(batch.id))
    partial = Evidence(
        batch,
        order,
        version,
        cache.get(uow, version.id),
        uow.materials.get(order.order.product_code),
        steps,
        tuple(uow.step_values.for_batch(batch.id)),
        _signatures(uow, steps, actions),
        _by_id(uow.signatures.for_object(APPROVAL_SIGNATURES, str(version.id))),
        tuple(sorted(uow.deviations.for_batch(batch.id), key=lambda d: d.id)),
        actions,
        tuple(uow.yields.yields(batch.id)),
        tuple(uow.yields.reconciliations(batch.id)),
        tuple(uow.equipment_uses.for_batch(batch.id)),
        tuple(uow.identity_checks.for_batch(batch.id)),
        dispensings,
        _lots(uow, dispensings),
        {},
        (),
    )
    partial = replace(
        partial,
        samples=tuple(uow.samples.for_batch(batch.id)),
        attachments=tuple(uow.attachments.for_batch(batch.id)),
    )
    audit = _audit(uow, partial)
    return replace(partial, people=_people(uow, partial, audit), audit=audit)


def audit_scope(evidence: Evidence) -> dict[str, set[str]]:
    """The audited objects of this batch: the one definition QA's trail review uses too (AUD-09)."""
    return batch_objects(
        BatchRows(
            evidence.batch.id,
            evidence.order.id,
            (s.id for s in evidence.steps),
            (v.id for v in evidence.values),
            (d.id for d in evidence.deviations),
            (a.id for a in evidence.actions),
            (y.id for y in evidence.yields),
            (r.id for r in evidence.reconciliations),
            (u.id for u in evidence.uses),
            (c.id for c in evidence.checks),
            (d.id for d in evidence.dispensings),
            (d.label for d in evidence.dispensings),
            (s.id for s in evidence.signatures),
            samples=(s.id for s in evidence.samples),
            attachments=(a.id for a in evidence.attachments),
        )
    )


def audit_keys(evidence: Evidence) -> frozenset[tuple[str, str]]:
    """The (object type, object id) of every audited object that belongs to this batch."""
    return flat(audit_scope(evidence))


def _audit(uow: UnitOfWork, evidence: Evidence) -> tuple[AuditEntry, ...]:
    # Found by the (object type, object id) index, oldest first.
    return tuple(uow.reviews.trail(audit_scope(evidence)))


def person_ids(evidence: Evidence) -> set[int]:
    """Every user the evidence names by id."""
    ids: set[int | None] = {evidence.batch.started_by, evidence.order.created_by}
    for step in evidence.steps:
        ids |= {step.assigned_to, step.performed_by, step.verified_by}
    ids |= {v.captured_by for v in evidence.values}
    for deviation in evidence.deviations:
        ids |= {deviation.reported_by, deviation.decided_by, deviation.closed_by}
    ids |= {a.requested_by for a in evidence.actions}
    ids |= {y.recorded_by for y in evidence.yields}
    ids |= {u.used_by for u in evidence.uses} | {c.checked_by for c in evidence.checks}
    ids |= {d.dispensed_by for d in evidence.dispensings}
    ids |= {s.taken_by for s in evidence.samples} | {a.uploaded_by for a in evidence.attachments}
    return {i for i in ids if i is not None}


def _people(uow: UnitOfWork, evidence: Evidence, audit: Iterable[AuditEntry]) -> dict[int, User]:
    ids = person_ids(evidence) | {e.draft.user_id for e in audit if e.draft.user_id is not None}
    people = {}
    for user_id in sorted(ids):
        try:
            people[user_id] = uow.users.get(user_id)
        except NotFound:
            continue  # "0" stands for the system in a few domain events; the record shows no person then
    return people
