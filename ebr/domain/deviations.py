"""Deviations (21 CFR 211.192; EU GMP 4.20(h)): opened by a trigger, dispositioned by an authorised role, closed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, InvalidTransition, PermissionDenied


class DeviationKind(StrEnum):
    """What opened the deviation (QA-01, QA-06)."""

    OUT_OF_LIMIT = "out_of_limit"
    MANUAL_OVERRIDE = "manual_override"
    FAILED_CHECK = "failed_check"
    HOLD_EXCEEDED = "hold_exceeded"
    YIELD = "yield"
    OPERATOR_REPORT = "operator_report"
    DEVICE_FAILURE = "device_failure"


class Severity(StrEnum):
    """How much the deviation may affect the product."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class DeviationStatus(StrEnum):
    """open → dispositioned → closed."""

    OPEN = "open"
    DISPOSITIONED = "dispositioned"
    CLOSED = "closed"


class Disposition(StrEnum):
    """The decision on the affected material (QA-01)."""

    CONTINUE = "continue"
    REWORK = "rework"
    REJECT = "reject"


ALLOWED: dict[DeviationStatus, frozenset[DeviationStatus]] = {
    DeviationStatus.OPEN: frozenset({DeviationStatus.DISPOSITIONED}),
    DeviationStatus.DISPOSITIONED: frozenset({DeviationStatus.CLOSED}),
    DeviationStatus.CLOSED: frozenset(),
}

# Who may disposition or close, per severity: the site policy owns this and passes it in.
Authority = Mapping[Severity, frozenset[Role]]


def check_transition(current: DeviationStatus, target: DeviationStatus) -> None:
    """Refuse a lifecycle move the deviation state machine does not allow."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"A deviation cannot go from {current} to {target}.")


def check_may_disposition(severity: Severity, actor_roles: frozenset[Role], authority: Authority) -> None:
    """Refuse an actor whose roles the site policy does not authorise for this severity (EU GMP 4.20(h))."""
    allowed = authority.get(severity, frozenset())
    if not actor_roles & allowed:
        named = ", ".join(sorted(allowed)) or "nobody"
        raise PermissionDenied(f"A {severity} deviation may be dispositioned only by: {named}.")


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("Every timestamp must carry its time zone (TIME-01).")


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise InvalidInput(f"A deviation needs {what}.")
    return value.strip()


@dataclass(frozen=True)
class Decision:
    """A disposition with who decided, when and why (QA-01)."""

    disposition: Disposition
    impact: str
    reason: str
    by: int
    at: datetime


@dataclass(frozen=True)
class DeviationOpened:
    """A deviation was opened."""

    deviation_id: str
    batch_id: str
    step_id: str
    kind: DeviationKind
    severity: Severity
    at: datetime
    by: int


@dataclass(frozen=True)
class DeviationDispositioned:
    """An authorised person decided what happens to the material."""

    deviation_id: str
    decision: Decision


@dataclass(frozen=True)
class DeviationClosed:
    """The investigation is complete."""

    deviation_id: str
    summary: str
    at: datetime
    by: int


@dataclass(frozen=True)
class Deviation:
    """A deviation linked to its batch and step (211.192; QA-01)."""

    id: str
    batch_id: str
    step_id: str
    kind: DeviationKind
    severity: Severity
    description: str
    immediate_action: str
    detected_at: datetime
    reported_by: int
    status: DeviationStatus = DeviationStatus.OPEN
    decision: Decision | None = None
    closed_at: datetime | None = None
    closed_by: int | None = None
    closure_summary: str = ""
    version: int = 1

    @property
    def blocks_release(self) -> bool:
        """Any deviation not yet closed blocks release of its batch (QA-02)."""
        return self.status is not DeviationStatus.CLOSED

    def disposition(
        self,
        disposition: Disposition,
        impact: str,
        reason: str,
        at: datetime,
        by: int,
        by_roles: frozenset[Role],
        authority: Authority,
    ) -> tuple[Deviation, DeviationDispositioned]:
        """Decide continue, rework or reject, with the impact assessed and a reason, by an authorised role."""
        check_transition(self.status, DeviationStatus.DISPOSITIONED)
        check_may_disposition(self.severity, by_roles, authority)
        _aware(at)
        if at < self.detected_at:
            raise InvalidInput("A disposition cannot precede the detection of the deviation.")
        decision = Decision(disposition, _text(impact, "an impact assessment"), _text(reason, "a reason"), by, at)
        moved = replace(self, status=DeviationStatus.DISPOSITIONED, decision=decision, version=self.version + 1)
        return moved, DeviationDispositioned(self.id, decision)

    def close(
        self, summary: str, at: datetime, by: int, by_roles: frozenset[Role], authority: Authority
    ) -> tuple[Deviation, DeviationClosed]:
        """Close the investigation once dispositioned, by a role authorised for its severity."""
        check_transition(self.status, DeviationStatus.CLOSED)
        check_may_disposition(self.severity, by_roles, authority)
        _aware(at)
        assert self.decision is not None
        if at < self.decision.at:
            raise InvalidInput("A deviation cannot be closed before it was dispositioned.")
        text = _text(summary, "a closure summary")
        moved = replace(
            self,
            status=DeviationStatus.CLOSED,
            closed_at=at,
            closed_by=by,
            closure_summary=text,
            version=self.version + 1,
        )
        return moved, DeviationClosed(self.id, text, at, by)


def open_deviation(
    deviation_id: str,
    batch_id: str,
    step_id: str,
    kind: DeviationKind,
    severity: Severity,
    description: str,
    immediate_action: str,
    at: datetime,
    by: int,
) -> tuple[Deviation, DeviationOpened]:
    """Open a deviation linked to its batch and step, with a description (QA-01)."""
    _aware(at)
    if not batch_id.strip():
        raise InvalidInput("A deviation is always linked to its batch.")
    deviation = Deviation(
        deviation_id,
        batch_id,
        step_id,
        kind,
        severity,
        _text(description, "a description"),
        immediate_action.strip(),
        at,
        by,
    )
    return deviation, DeviationOpened(deviation_id, batch_id, step_id, kind, severity, at, by)
