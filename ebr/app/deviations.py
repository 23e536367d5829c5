"""Opening deviations (QA-01) inside the caller's unit of work, and their disposition and closure by signature."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ebr.app.ports import StoredBatch, StoredDeviation, UnitOfWork
from ebr.domain.accounts import Role
from ebr.domain.deviations import (
    Decision,
    Deviation,
    DeviationKind,
    DeviationStatus,
    Disposition,
    Severity,
    open_deviation,
)
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import SitePolicy

# The site policy's rule object for deviations of a severity; a policy may let supervisors take minor ones.
RULE_OBJECTS = {Severity.MINOR: "deviation_minor"}


def open_in(
    uow: UnitOfWork,
    batch: StoredBatch,
    step_pk: int | None,
    kind: DeviationKind,
    severity: Severity,
    description: str,
    immediate_action: str,
    at: datetime,
    by: int | None,
    field_id: str = "",
) -> StoredDeviation:
    """Open a deviation linked to its batch and step, numbered per batch (QA-01)."""
    number = uow.deviations.next_number(batch.id, batch.batch.id)
    step = str(step_pk) if step_pk is not None else ""
    opened, _ = open_deviation(number, batch.batch.id, step, kind, severity, description, immediate_action, at, by or 0)
    stored = StoredDeviation(
        0,
        number,
        batch.id,
        step_pk,
        field_id,
        str(kind),
        str(severity),
        opened.description,
        opened.immediate_action,
        at,
        by,
        str(DeviationStatus.OPEN),
    )
    return uow.deviations.add(stored)


def severity_of(text: str) -> Severity:
    """A severity named by a person, or a refusal listing the choices."""
    try:
        return Severity(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"Severity must be one of: {', '.join(s.value for s in Severity)}.") from None


def _domain(stored: StoredDeviation) -> Deviation:
    decision = None
    if stored.decided_at is not None and stored.disposition:
        decision = Decision(
            Disposition(stored.disposition),
            stored.impact,
            stored.decision_reason,
            stored.decided_by or 0,
            stored.decided_at,
        )
    return Deviation(
        stored.number,
        str(stored.batch_id),
        str(stored.step_record_id or ""),
        DeviationKind(stored.kind),
        Severity(stored.severity),
        stored.description,
        stored.immediate_action,
        stored.detected_at,
        stored.reported_by or 0,
        DeviationStatus(stored.status),
        decision,
        stored.closed_at,
        stored.closed_by,
        stored.closure_summary,
        stored.version,
    )


def rule_object(policy: SitePolicy, severity: str, meaning: str) -> str:
    """Which rule of the site policy governs this severity: its own where the policy has one (EU GMP 4.20(h))."""
    special = RULE_OBJECTS.get(Severity(severity))
    if special and any(r.object_type == special and r.meaning == meaning for r in policy.rules):
        return special
    return "deviation"


def authority(policy: SitePolicy, severity: str, meaning: str) -> dict[Severity, frozenset[Role]]:
    """The roles the site policy lets decide on a deviation of this severity."""
    rule = policy.rule(rule_object(policy, severity, meaning), meaning)
    return {Severity(severity): rule.roles}


def disposition(
    uow: UnitOfWork,
    stored: StoredDeviation,
    choice: str,
    impact: str,
    reason: str,
    at: datetime,
    by: int,
    roles: frozenset[Role],
    policy: SitePolicy,
) -> StoredDeviation:
    """Continue, rework or reject, with the impact assessed, by a role the policy authorises for the severity."""
    try:
        decided = Disposition(choice.strip().lower())
    except ValueError:
        raise InvalidInput(f"Disposition must be one of: {', '.join(d.value for d in Disposition)}.") from None
    moved, _ = _domain(stored).disposition(
        decided, impact, reason, at, by, roles, authority(policy, stored.severity, "dispositioned")
    )
    assert moved.decision is not None
    changed = dataclasses.replace(
        stored,
        status=str(moved.status),
        disposition=str(decided),
        impact=moved.decision.impact,
        decision_reason=moved.decision.reason,
        decided_by=by,
        decided_at=at,
    )
    return uow.deviations.update(changed, stored.version)


def close(
    uow: UnitOfWork,
    stored: StoredDeviation,
    summary: str,
    at: datetime,
    by: int,
    roles: frozenset[Role],
    policy: SitePolicy,
) -> StoredDeviation:
    """Close a dispositioned deviation with its summary (QA-01)."""
    moved, _ = _domain(stored).close(summary, at, by, roles, authority(policy, stored.severity, "closed"))
    changed = dataclasses.replace(
        stored, status=str(moved.status), closure_summary=moved.closure_summary, closed_by=by, closed_at=at
    )
    return uow.deviations.update(changed, stored.version)
