"""A batch's life (21 CFR 11.10(f) sequencing): its states, the moves between them, the release gate and yield."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition


class BatchStatus(StrEnum):
    """Created → In progress ⇄ Held → Completed → In review → Released | Rejected, or Cancelled (SEQ-05)."""

    CREATED = "created"
    IN_PROGRESS = "in_progress"
    HELD = "held"
    COMPLETED = "completed"
    IN_REVIEW = "in_review"
    RELEASED = "released"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class BatchAction(StrEnum):
    """What a person does to a batch; each action leaves from named states to one state (SEQ-05)."""

    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    COMPLETE = "complete"
    SUBMIT_FOR_REVIEW = "submit for review"
    RELEASE = "release"
    REJECT = "reject"
    CANCEL = "cancel"


ACTIONS: dict[BatchAction, tuple[frozenset[BatchStatus], BatchStatus]] = {
    BatchAction.START: (frozenset({BatchStatus.CREATED}), BatchStatus.IN_PROGRESS),
    BatchAction.HOLD: (frozenset({BatchStatus.IN_PROGRESS}), BatchStatus.HELD),
    BatchAction.RESUME: (frozenset({BatchStatus.HELD}), BatchStatus.IN_PROGRESS),
    BatchAction.COMPLETE: (frozenset({BatchStatus.IN_PROGRESS}), BatchStatus.COMPLETED),
    BatchAction.SUBMIT_FOR_REVIEW: (frozenset({BatchStatus.COMPLETED}), BatchStatus.IN_REVIEW),
    BatchAction.RELEASE: (frozenset({BatchStatus.IN_REVIEW}), BatchStatus.RELEASED),
    BatchAction.REJECT: (frozenset({BatchStatus.IN_REVIEW}), BatchStatus.REJECTED),
    BatchAction.CANCEL: (
        frozenset({BatchStatus.CREATED, BatchStatus.IN_PROGRESS, BatchStatus.HELD}),
        BatchStatus.CANCELLED,
    ),
}
ALLOWED: dict[BatchStatus, frozenset[BatchStatus]] = {
    status: frozenset(target for sources, target in ACTIONS.values() if status in sources) for status in BatchStatus
}
# Final states: after release or rejection the record is immutable, only a signed addendum may follow (SEQ-05, QA-05).
FINAL = frozenset({BatchStatus.RELEASED, BatchStatus.REJECTED, BatchStatus.CANCELLED})
# A batch that ran to its end or was stopped: its execution has an end time.
ENDED = FINAL | {BatchStatus.COMPLETED, BatchStatus.IN_REVIEW}


def check_transition(current: BatchStatus, target: BatchStatus) -> None:
    """Refuse a move the batch state machine does not allow (SEQ-05)."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"A batch cannot go from {current} to {target}.")


def check_action(current: BatchStatus, action: BatchAction) -> BatchStatus:
    """The state the action leads to, or a refusal naming the action and the current state (SEQ-05)."""
    sources, target = ACTIONS[action]
    if current not in sources:
        raise InvalidTransition(f"Cannot {action} a batch that is {current} (it would go from {current} to {target}).")
    return target


def check_can_execute(batch: Batch) -> None:
    """Refuse any execution request unless the batch is in progress; while held only resume is allowed (SEQ-04)."""
    if batch.status is BatchStatus.HELD:
        raise InvalidTransition(f"Batch {batch.id} is on hold: nothing can be executed until the hold is released.")
    if batch.status is not BatchStatus.IN_PROGRESS:
        raise InvalidTransition(f"Batch {batch.id} is {batch.status}: steps can be executed only while in progress.")


def check_not_decided(batch: Batch) -> None:
    """Nothing is added to a released, rejected or cancelled record but a signed addendum (SEQ-05, QA-05)."""
    if batch.status in FINAL:
        raise InvalidTransition(f"Batch {batch.id} is {batch.status}: its record is closed; add a signed addendum.")


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("Every timestamp must carry its time zone (TIME-01).")
    return at


def _reason(reason: str, action: str) -> str:
    if not reason.strip():
        raise InvalidInput(f"A reason is required to {action} a batch.")
    return reason.strip()


@dataclass(frozen=True)
class BatchEvent:
    """Something that happened to a batch: who, when."""

    batch_id: str
    at: datetime
    by: int


@dataclass(frozen=True)
class BatchStarted(BatchEvent):
    """The batch started on its pinned procedure version (VAL-09)."""

    procedure_version_id: int
    procedure_hash: str


@dataclass(frozen=True)
class BatchHeld(BatchEvent):
    """The batch was put on hold (SEQ-04)."""

    reason: str


@dataclass(frozen=True)
class BatchResumed(BatchEvent):
    """The hold was released; the hold duration is recorded (SEQ-04)."""

    reason: str
    held_for: timedelta


@dataclass(frozen=True)
class BatchCompleted(BatchEvent):
    """Every step of the batch is done."""


@dataclass(frozen=True)
class BatchSubmittedForReview(BatchEvent):
    """The completed record went to QA review (QA-03)."""


@dataclass(frozen=True)
class BatchReleased(BatchEvent):
    """QA released the batch (QA-04)."""


@dataclass(frozen=True)
class BatchRejected(BatchEvent):
    """QA rejected the batch (QA-04)."""

    reason: str


@dataclass(frozen=True)
class BatchCancelled(BatchEvent):
    """The batch was abandoned before completion."""

    reason: str
    previous_status: BatchStatus


@dataclass(frozen=True)
class Batch:
    """A batch, pinned for life to the procedure version and content hash it was created on (VAL-09)."""

    id: str
    order: str
    product: str
    procedure_version_id: int
    procedure_hash: str
    status: BatchStatus = BatchStatus.CREATED
    version: int = 1
    held_since: datetime | None = None

    def __post_init__(self) -> None:
        """Refuse a batch without its identity or its pinned procedure hash."""
        for name in ("id", "order", "product", "procedure_hash"):
            if not str(getattr(self, name)).strip():
                raise InvalidInput(f"A batch needs its {name.replace('_', ' ')}.")

    def check_version(self, expected: int) -> None:
        """Refuse a change made against a stale copy: exactly one concurrent writer wins (SEQ-03)."""
        if expected != self.version:
            raise Conflict(f"Batch {self.id} changed meanwhile (version {self.version}, not {expected}): reload it.")

    def _move(self, action: BatchAction, held_since: datetime | None = None) -> Batch:
        target = check_action(self.status, action)
        return replace(self, status=target, version=self.version + 1, held_since=held_since)

    def start(self, at: datetime, by: int) -> tuple[Batch, BatchStarted]:
        """Start executing on the pinned version (SEQ-05)."""
        moved = self._move(BatchAction.START)
        return moved, BatchStarted(self.id, _aware(at), by, self.procedure_version_id, self.procedure_hash)

    def hold(self, at: datetime, by: int, reason: str) -> tuple[Batch, BatchHeld]:
        """Put the batch on hold; a reason is required (SEQ-04)."""
        moved = self._move(BatchAction.HOLD, held_since=_aware(at))
        return moved, BatchHeld(self.id, at, by, _reason(reason, "hold"))

    def resume(self, at: datetime, by: int, reason: str) -> tuple[Batch, BatchResumed]:
        """Release the hold with a reason; the event carries how long the batch was held (SEQ-04)."""
        moved = self._move(BatchAction.RESUME)
        text = _reason(reason, "resume")
        assert self.held_since is not None
        if _aware(at) < self.held_since:
            raise InvalidInput("A hold cannot end before it began.")
        return moved, BatchResumed(self.id, at, by, text, at - self.held_since)

    def complete(self, at: datetime, by: int) -> tuple[Batch, BatchCompleted]:
        """Mark every step done."""
        return self._move(BatchAction.COMPLETE), BatchCompleted(self.id, _aware(at), by)

    def submit_for_review(self, at: datetime, by: int) -> tuple[Batch, BatchSubmittedForReview]:
        """Send the completed record to QA review."""
        return self._move(BatchAction.SUBMIT_FOR_REVIEW), BatchSubmittedForReview(self.id, _aware(at), by)

    def release(self, at: datetime, by: int, blockers: Sequence[str]) -> tuple[Batch, BatchReleased]:
        """Release, refused while any blocker from release_blockers remains, all of them named (QA-02)."""
        check_action(self.status, BatchAction.RELEASE)
        if blockers:
            raise ReleaseBlocked(blockers)
        return self._move(BatchAction.RELEASE), BatchReleased(self.id, _aware(at), by)

    def reject(self, at: datetime, by: int, reason: str) -> tuple[Batch, BatchRejected]:
        """Reject the batch with a reason (QA-04)."""
        moved = self._move(BatchAction.REJECT)
        return moved, BatchRejected(self.id, _aware(at), by, _reason(reason, "reject"))

    def cancel(self, at: datetime, by: int, reason: str) -> tuple[Batch, BatchCancelled]:
        """Abandon the batch before completion with a reason."""
        moved = self._move(BatchAction.CANCEL)
        return moved, BatchCancelled(self.id, _aware(at), by, _reason(reason, "cancel"), self.status)


class ReleaseBlocked(Conflict):
    """Release refused: the message lists every blocker by name (QA-02)."""

    def __init__(self, blockers: Sequence[str]) -> None:
        """Keep the blockers for the caller and name them all in the message."""
        self.blockers = tuple(blockers)
        super().__init__("The batch cannot be released: " + "; ".join(self.blockers) + ".")


def release_blockers(
    batch: Batch,
    open_deviations: Sequence[str],
    unsigned_critical_steps: Sequence[str],
    audit_reviewed: bool,
    *,
    incomplete_steps: Sequence[str] = (),
    unacknowledged_exceptions: Sequence[str] = (),
) -> list[str]:
    """Every reason the batch cannot be released now, each named (21 CFR 211.192; QA-02, AUD-09)."""
    blockers: list[str] = []
    if batch.status is not BatchStatus.IN_REVIEW:
        blockers.append(f"the batch is {batch.status}, not in review")
    blockers.extend(f"deviation {ref} is not closed" for ref in open_deviations)
    blockers.extend(f"step {ref} lacks a required signature" for ref in unsigned_critical_steps)
    blockers.extend(f"step {ref} is not complete" for ref in incomplete_steps)
    blockers.extend(f"exception {ref} is not acknowledged by the reviewer" for ref in unacknowledged_exceptions)
    if not audit_reviewed:
        blockers.append("the audit trail has no 'audit trail reviewed' signature")
    return blockers


# Yield and reconciliation (21 CFR 211.188(b)(7), 211.192; SEQ-10): Decimal, exact inputs, one documented rounding.
YIELD_PLACES = Decimal("0.01")
YIELD_ROUNDING = ROUND_HALF_UP
YIELD_FORMULA = "yield % = produced * 100 / theoretical, rounded half-up to 0.01 (v1)"
RECONCILIATION_FORMULA = "discrepancy = issued - used - returned - waste, exact (v1)"


def _quantity(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"The {name} quantity must be a finite decimal number.")
    if value < 0:
        raise InvalidInput(f"The {name} quantity cannot be negative ({value}).")
    return value


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = max(50, len(part.as_tuple().digits) + len(whole.as_tuple().digits) + 10)
        return (part * 100 / whole).quantize(YIELD_PLACES, rounding=YIELD_ROUNDING)


def yield_percent(produced: Decimal, theoretical: Decimal) -> Decimal:
    """Actual yield as a percentage of theoretical, to 0.01 rounded half-up (211.188(b)(7))."""
    _quantity("produced", produced)
    if _quantity("theoretical", theoretical) == 0:
        raise InvalidInput("The theoretical yield must be greater than zero.")
    return _percent(produced, theoretical)


@dataclass(frozen=True)
class Reconciliation:
    """A material balance: what was issued against what was used, returned and wasted (211.184(c), BR-03)."""

    issued: Decimal
    used: Decimal
    returned: Decimal
    waste: Decimal
    discrepancy: Decimal
    discrepancy_percent: Decimal | None

    def exceeds(self, tolerance: Decimal) -> bool:
        """Whether the absolute discrepancy is beyond the tolerance (which then opens a deviation)."""
        return abs(self.discrepancy) > _quantity("tolerance", tolerance)


def reconcile(issued: Decimal, used: Decimal, returned: Decimal, waste: Decimal) -> Reconciliation:
    """Issued - used - returned - waste, exact; the percentage of issued when anything was issued."""
    amounts = [_quantity(name, value) for name, value in (("issued", issued), ("used", used))]
    amounts += [_quantity(name, value) for name, value in (("returned", returned), ("waste", waste))]
    with localcontext() as ctx:
        ctx.prec = 100
        discrepancy = amounts[0] - amounts[1] - amounts[2] - amounts[3]
    percent = _percent(discrepancy, issued) if issued > 0 else None
    return Reconciliation(issued, used, returned, waste, discrepancy, percent)
