"""Alerts for the security contact and QA: recorded in the transaction that raised them, then delivered."""

from __future__ import annotations

import logging

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AlertSink, Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


def raise_alert(uow: UnitOfWork, kind: str, message: str, clock: Clock) -> None:
    """Record an alert inside the caller's unit of work; delivery follows the commit."""
    uow.alerts.add(kind, message, clock.now())


class AlertService:
    """Delivers recorded alerts; a failed delivery stays pending for the worker to retry."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, sink: AlertSink) -> None:
        self._uow = uow
        self._clock = clock
        self._sink = sink

    def deliver_pending(self) -> int:
        """Send every undelivered alert; returns how many went out."""
        ctx = AuditContext(Actor.system(), self._clock.now())
        with self._uow(ctx) as uow:
            pending = uow.alerts.undelivered()
        sent = 0
        for alert in pending:
            try:
                self._sink.send(alert)  # network I/O: outside any transaction
            except Exception:  # any sink failure leaves the alert pending for the next run
                log.exception("alert %s not delivered; will retry", alert.id)
                continue
            with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
                uow.alerts.mark_delivered(alert.id, self._clock.now())
                uow.commit()
            sent += 1
        return sent
