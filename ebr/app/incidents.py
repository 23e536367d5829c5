"""Incidents: opened inside the unit of work that found them, notified once after the commit, acknowledged by people.

The incident table is notification state, not GMP data: its cause (a deviation, a failed check) carries its
own audit entries, and the acknowledgement is audited explicitly here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, Incident, Notifier, UnitOfWork, UnitOfWorkFactory
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action, to_utc_text
from ebr.domain.errors import Conflict, InvalidInput

log = logging.getLogger(__name__)

MAX_KEY = 200
MAX_KIND = 32
MAX_SUBJECT = 200


class Severity(StrEnum):
    """How urgent an incident is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def open_incident(
    uow: UnitOfWork,
    key: str,
    kind: str,
    severity: str,
    subject: str,
    message: str,
    now: datetime,
    correlation_id: str = "",
) -> Incident | None:
    """Open an incident inside the caller's unit of work; None when one with this key exists already.

    The key makes repeated detection of the same fact harmless, e.g. "hold-overdue:<step record id>".
    """
    if not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(f"An incident key is required (at most {MAX_KEY} characters).")
    if not kind.strip() or len(kind) > MAX_KIND:
        raise InvalidInput(f"An incident kind is required (at most {MAX_KIND} characters).")
    if severity not in set(Severity):
        raise InvalidInput(f"Incident severity must be one of {', '.join(Severity)}.")
    if not subject.strip():
        raise InvalidInput("An incident needs a subject.")
    # A long subject is cut rather than refused: the caller's own transaction must not fail over a headline.
    return uow.incidents.open(key, kind, str(severity), subject.strip()[:MAX_SUBJECT], message, now, correlation_id)


@dataclass(frozen=True)
class SystemFailure:
    """A system error seen outside any use case's transaction: what it was, where, and the request or act it hit."""

    key: str  # the same fault seen again under this key is counted on one incident, not opened anew
    kind: str
    subject: str
    message: str
    correlation_id: str
    severity: str = Severity.CRITICAL


def record_failure(uow_factory: UnitOfWorkFactory, now: datetime, failure: SystemFailure) -> Incident | None:
    """Open (or count again) the incident of a system error in a transaction of its own (OPS-01).

    Never raises: the caller is already handling an error, which this must not mask; None when it could not
    be recorded, which is then logged."""
    try:
        with uow_factory(AuditContext(Actor.system(), now)) as uow:
            opened = open_incident(
                uow,
                failure.key,
                failure.kind,
                failure.severity,
                failure.subject,
                failure.message,
                now,
                failure.correlation_id,
            )
            incident = opened or uow.incidents.recur(failure.key, now)
            uow.commit()
        return incident
    except Exception:  # the original error is what the person sees; this one only goes to the log
        log.exception("incident %s (%s) could not be recorded", failure.key, failure.correlation_id)
        return None


class IncidentService:
    """Delivers pending incidents through the notifier, lists the open ones and records acknowledgements."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    def _system(self) -> UnitOfWork:
        return self._uow(AuditContext(Actor.system(), self._clock.now()))

    def deliver_pending(self) -> int:
        """Send every incident not yet notified; returns how many went out. A failure stays pending."""
        with self._system() as uow:
            pending = uow.incidents.undelivered()
        sent = 0
        for incident in pending:
            try:
                self._notifier.send(incident)  # network I/O: outside any transaction
            except Exception:  # any notifier failure leaves the incident pending for the next run
                log.exception("incident %s (%s) not delivered; will retry", incident.id, incident.key)
                with self._system() as uow:
                    uow.incidents.record_attempt(incident.id)
                    uow.commit()
                continue
            with self._system() as uow:
                uow.incidents.mark_notified(incident.id, self._clock.now())
                uow.commit()
            sent += 1
        return sent

    def record_failure(self, failure: SystemFailure) -> Incident | None:
        """Open (or count again) the incident of a system error in a transaction of its own (OPS-01); never raises."""
        return record_failure(self._uow, self._clock.now(), failure)

    def open_incidents(self) -> list[Incident]:
        """Every incident nobody has acknowledged yet, newest first."""
        with self._system() as uow:
            return uow.incidents.open_incidents()

    def acknowledge(self, actor: Actor, incident_id: int, reason: str, request: RequestInfo | None = None) -> Incident:
        """Record who took notice, when and what they did about it; audited although the table is not GMP."""
        why = require_reason(reason)
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, why, request or RequestInfo())) as uow:
            if actor.user_id is not None:
                require(uow.users.get(actor.user_id), Permission.INCIDENT_ACKNOWLEDGE)
            incident = uow.incidents.get(incident_id)
            if not uow.incidents.acknowledge(incident_id, actor.user_id, now):
                raise Conflict(f"Incident {incident_id} was already acknowledged.")
            uow.audit.append(
                Action.STATE_CHANGE,
                "incident",
                str(incident_id),
                field="acknowledged_at",
                old=None,
                new=to_utc_text(now),
                reason=why,
            )
            uow.commit()
        return replace(incident, acknowledged_at=now, acknowledged_by=actor.user_id)
