"""Row ⇄ domain translation for incidents, training records and registered terminals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ebr.adapters.db.models import IncidentRow, TerminalRow, TrainingRecordRow
from ebr.app.ports import Incident, Terminal
from ebr.domain.errors import NotFound
from ebr.domain.training import TrainingRecord


def _incident(r: IncidentRow) -> Incident:
    return Incident(
        id=r.id,
        key=r.key,
        kind=r.kind,
        severity=r.severity,
        subject=r.subject,
        message=r.message,
        opened_at=r.opened_at,
        notified_at=r.notified_at,
        attempts=r.attempts,
        acknowledged_at=r.acknowledged_at,
        acknowledged_by=r.acknowledged_by,
        correlation_id=r.correlation_id,
        occurrences=r.occurrences,
        last_seen_at=r.last_seen_at,
    )


class SqlIncidentRepository:
    """Incidents; the unique key makes opening the same incident twice a no-op."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def open(
        self, key: str, kind: str, severity: str, subject: str, message: str, at: datetime, correlation_id: str = ""
    ) -> Incident | None:
        dialect = postgresql if self._s.get_bind().dialect.name == "postgresql" else sqlite
        values = {"key": key, "kind": kind, "severity": severity, "subject": subject, "message": message}
        values["correlation_id"] = correlation_id[:64]
        # ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a failed INSERT
        # would abort the caller's whole transaction, and a concurrent opener must not do that either.
        stmt = (
            dialect.insert(IncidentRow)
            .values(**values, opened_at=at, attempts=0)
            .on_conflict_do_nothing(index_elements=[IncidentRow.key])
            .returning(IncidentRow.id)
        )
        new_id = self._s.execute(stmt).scalar()
        if new_id is None:
            return None
        return Incident(int(new_id), key, kind, severity, subject, message, at, correlation_id=correlation_id[:64])

    def recur(self, key: str, at: datetime) -> Incident | None:
        # One UPDATE: concurrent recurrences each count, none is lost to a read-modify-write race.
        self._s.execute(
            update(IncidentRow)
            .where(IncidentRow.key == key)
            .values(occurrences=IncidentRow.occurrences + 1, last_seen_at=at)
        )
        row = self._s.scalars(select(IncidentRow).where(IncidentRow.key == key)).first()
        return _incident(row) if row is not None else None

    def get(self, incident_id: int) -> Incident:
        row = self._s.get(IncidentRow, incident_id)
        if row is None:
            raise NotFound(f"No incident {incident_id}.")
        return _incident(row)

    def undelivered(self) -> list[Incident]:
        # An incident acknowledged before its notice went out needs no notice any more.
        stmt = select(IncidentRow).where(IncidentRow.notified_at.is_(None), IncidentRow.acknowledged_at.is_(None))
        return [_incident(r) for r in self._s.scalars(stmt.order_by(IncidentRow.id))]

    def mark_notified(self, incident_id: int, at: datetime) -> None:
        self._s.execute(
            update(IncidentRow)
            .where(IncidentRow.id == incident_id, IncidentRow.notified_at.is_(None))
            .values(notified_at=at, attempts=IncidentRow.attempts + 1)
        )

    def record_attempt(self, incident_id: int) -> None:
        self._s.execute(
            update(IncidentRow).where(IncidentRow.id == incident_id).values(attempts=IncidentRow.attempts + 1)
        )

    def acknowledge(self, incident_id: int, by: int | None, at: datetime) -> bool:
        result = self._s.execute(
            update(IncidentRow)
            .where(IncidentRow.id == incident_id, IncidentRow.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]  # CursorResult of an UPDATE

    def open_incidents(self) -> list[Incident]:
        stmt = select(IncidentRow).where(IncidentRow.acknowledged_at.is_(None)).order_by(IncidentRow.id.desc())
        return [_incident(r) for r in self._s.scalars(stmt)]


def _training(r: TrainingRecordRow) -> TrainingRecord:
    return TrainingRecord(r.id, r.user_id, r.course, r.trained_at, r.valid_until, r.recorded_by, r.recorded_at)


class SqlTrainingRepository:
    """Training records; append-only in practice (a renewal is a new row)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        user_id: int,
        course: str,
        trained_at: datetime,
        valid_until: datetime,
        recorded_by: int | None,
        at: datetime,
    ) -> TrainingRecord:
        row = TrainingRecordRow(
            user_id=user_id,
            course=course,
            trained_at=trained_at,
            valid_until=valid_until,
            recorded_by=recorded_by,
            recorded_at=at,
        )
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _training(row)

    def for_user(self, user_id: int) -> list[TrainingRecord]:
        stmt = select(TrainingRecordRow).where(TrainingRecordRow.user_id == user_id)
        return [_training(r) for r in self._s.scalars(stmt.order_by(TrainingRecordRow.id))]

    def current(self, user_id: int, course: str) -> TrainingRecord | None:
        stmt = (
            select(TrainingRecordRow)
            .where(TrainingRecordRow.user_id == user_id, TrainingRecordRow.course == course)
            .order_by(TrainingRecordRow.recorded_at.desc(), TrainingRecordRow.id.desc())
            .limit(1)
        )
        row = self._s.scalars(stmt).one_or_none()
        return _training(row) if row else None

    def list(self) -> list[TrainingRecord]:
        return [_training(r) for r in self._s.scalars(select(TrainingRecordRow).order_by(TrainingRecordRow.id))]


def _terminal(r: TerminalRow) -> Terminal:
    return Terminal(r.id, r.name, r.location, r.registered_at, r.registered_by, r.active)


class SqlTerminalRepository:
    """Registered terminals."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def _row(self, terminal_id: int) -> TerminalRow:
        row = self._s.get(TerminalRow, terminal_id)
        if row is None:
            raise NotFound(f"No terminal {terminal_id}.")
        return row

    def add(self, name: str, location: str, token_hash: str, by: int | None, at: datetime) -> Terminal:
        row = TerminalRow(name=name, location=location, token_hash=token_hash, registered_at=at, registered_by=by)
        row.active = True
        self._s.add(row)
        self._s.flush()  # the id is returned to the caller
        return _terminal(row)

    def get(self, terminal_id: int) -> Terminal:
        return _terminal(self._row(terminal_id))

    def by_name(self, name: str) -> Terminal | None:
        # Case-insensitive, so "Kiosk-1" and "kiosk-1" never name two terminals.
        row = self._s.scalars(select(TerminalRow).where(func.lower(TerminalRow.name) == name.lower())).first()
        return _terminal(row) if row else None

    def by_token_hash(self, token_hash: str) -> Terminal | None:
        row = self._s.scalars(select(TerminalRow).where(TerminalRow.token_hash == token_hash)).one_or_none()
        return _terminal(row) if row else None

    def set_active(self, terminal_id: int, active: bool) -> None:
        self._row(terminal_id).active = active

    def list(self) -> list[Terminal]:
        return [_terminal(r) for r in self._s.scalars(select(TerminalRow).order_by(TerminalRow.name))]
