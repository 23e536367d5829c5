"""Ports of plant operations: incidents and their notifier, training records, registered terminals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.domain.training import TrainingRecord


@dataclass(frozen=True)
class Incident:
    """Something people must know about now; notified once, open until someone acknowledges it."""

    id: int
    key: str
    kind: str
    severity: str
    subject: str
    message: str
    opened_at: datetime
    notified_at: datetime | None = None
    attempts: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    correlation_id: str = ""  # the request or act it came from (OPS-01)
    occurrences: int = 1  # how often the same fault was seen while the incident stayed open
    last_seen_at: datetime | None = None


class DeliveryFailed(Exception):
    """A notifier could not hand the incident over; it stays pending and the worker tries again."""


class Notifier(Protocol):
    """Tells people about an incident (e-mail, webhook, log); never called inside a transaction."""

    def send(self, incident: Incident) -> None:
        """Deliver one incident; raises DeliveryFailed when it was not accepted."""
        ...


class IncidentRepository(Protocol):
    """Incidents keyed by a caller's key: the same key twice opens one incident (dedup)."""

    def open(
        self, key: str, kind: str, severity: str, subject: str, message: str, at: datetime, correlation_id: str = ""
    ) -> Incident | None:
        """The new incident, or None when one with this key exists (even acknowledged)."""
        ...

    def recur(self, key: str, at: datetime) -> Incident | None:
        """Count one more occurrence of the incident with this key; None when there is none."""
        ...

    def get(self, incident_id: int) -> Incident: ...
    def undelivered(self) -> list[Incident]: ...
    def mark_notified(self, incident_id: int, at: datetime) -> None: ...
    def record_attempt(self, incident_id: int) -> None: ...
    def acknowledge(self, incident_id: int, by: int | None, at: datetime) -> bool:
        """True when this call acknowledged it; False when someone else already had."""
        ...

    def open_incidents(self) -> list[Incident]: ...


class TrainingRepository(Protocol):
    """Training records: added, never changed or deleted; a renewal or a correction is a new record."""

    def add(
        self,
        user_id: int,
        course: str,
        trained_at: datetime,
        valid_until: datetime,
        recorded_by: int | None,
        at: datetime,
    ) -> TrainingRecord: ...
    def for_user(self, user_id: int) -> list[TrainingRecord]: ...
    def current(self, user_id: int, course: str) -> TrainingRecord | None:
        """The record in force for the course (the latest recorded), expired or not."""
        ...

    def list(self) -> list[TrainingRecord]: ...


@dataclass(frozen=True)
class Terminal:
    """A registered terminal; its token lives only in the kiosk's cookie, the database keeps its hash."""

    id: int
    name: str
    location: str
    registered_at: datetime
    registered_by: int | None
    active: bool


class TerminalRepository(Protocol):
    """Registered terminals; names are unique and never reused, a terminal is deactivated, never deleted."""

    def add(self, name: str, location: str, token_hash: str, by: int | None, at: datetime) -> Terminal: ...
    def get(self, terminal_id: int) -> Terminal: ...
    def by_name(self, name: str) -> Terminal | None: ...
    def by_token_hash(self, token_hash: str) -> Terminal | None: ...
    def set_active(self, terminal_id: int, active: bool) -> None: ...
    def list(self) -> list[Terminal]: ...
