"""Training records: a supervisor or QA records them; steps that name a course require a current one (ACC-09)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission, User
from ebr.domain.errors import InvalidInput, PermissionDenied
from ebr.domain.training import TrainingRecord, check_new_record, check_trained, in_force, normalise_course


def require_training(uow: UnitOfWork, user_id: int, course: str, now: datetime) -> TrainingRecord:
    """The user's current record for the course, inside the caller's unit of work; PermissionDenied otherwise.

    Called before executing or signing a step that declares `ebr:training` (21 CFR 11.10(i), 11.10(g)).
    """
    cleaned = normalise_course(course)
    record = uow.training.current(user_id, cleaned)
    try:
        return check_trained([record] if record else [], cleaned, now)
    except PermissionDenied as refused:
        raise PermissionDenied(f"{uow.users.get(user_id).username}: {refused}") from None


@dataclass(frozen=True)
class TrainingLine:
    """One record as the training page lists it."""

    record: TrainingRecord
    user: User
    recorded_by: str
    status: str  # "current", "expired", "not yet valid" or "superseded" by a later record of the same course


class TrainingService:
    """Record and list training; recording is a supervisor's or QA's attestation, never one's own."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record(
        self,
        actor: Actor,
        username: str,
        course: str,
        trained_at: datetime,
        valid_until: datetime,
        reason: str,
        request: RequestInfo | None = None,
    ) -> TrainingRecord:
        """Add a training record for a user (a renewal or correction is a new record; none is ever changed)."""
        now = self._clock.now()
        cleaned = check_new_record(course, trained_at, valid_until, now)
        with self._uow(AuditContext(actor, now, require_reason(reason), request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.TRAINING_MANAGE)
            trainee = uow.users.by_username(username.strip())
            if trainee is None:
                raise InvalidInput(f"Unknown user id {username.strip()!r}.")
            if trainee.id == actor.user_id:
                raise PermissionDenied("Your own training must be recorded by someone else.")
            record = uow.training.add(trainee.id, cleaned, trained_at, valid_until, actor.user_id, now)
            uow.commit()
        return record

    def for_user(self, user_id: int) -> list[TrainingRecord]:
        """Every record of one user, oldest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.training.for_user(user_id)

    def list(self) -> list[TrainingLine]:
        """Every record with its person and whether it is current now, newest first."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            users = {u.id: u for u in uow.users.list()}
            records = uow.training.list()
        groups: dict[tuple[int, str], list[TrainingRecord]] = {}
        for r in records:
            groups.setdefault((r.user_id, r.course), []).append(r)
        in_force_ids = {chosen.id for group in groups.values() if (chosen := in_force(group, group[0].course))}
        lines = []
        for r in reversed(records):
            recorder = users[r.recorded_by].username if r.recorded_by in users else "system"
            lines.append(TrainingLine(r, users[r.user_id], recorder, _status(r, r.id in in_force_ids, now)))
        return lines


def _status(record: TrainingRecord, in_effect: bool, now: datetime) -> str:
    if not in_effect:
        return "superseded"
    if record.is_current(now):
        return "current"
    return "not yet valid" if now < record.trained_at else "expired"
