"""Alert delivery: the log (always), a JSON webhook where configured, a recording sink for tests."""

from __future__ import annotations

import logging

import httpx

from ebr.app.ports import Alert
from ebr.domain.audit import to_utc_text

log = logging.getLogger("ebr.alerts")


class LogAlertSink:
    """Writes each alert to the application log at WARNING."""

    def send(self, alert: Alert) -> None:
        """Log the alert."""
        log.warning("ALERT %s #%s at %s: %s", alert.kind, alert.id, to_utc_text(alert.at), alert.message)


class WebhookAlertSink:
    """POSTs each alert as JSON to the security contact's endpoint; raises on failure so it is retried."""

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    def send(self, alert: Alert) -> None:
        """POST and require a 2xx."""
        LogAlertSink().send(alert)
        body = {"id": alert.id, "kind": alert.kind, "message": alert.message, "at": to_utc_text(alert.at)}
        response = httpx.post(
            self._url, json=body, timeout=self._timeout, headers={"Idempotency-Key": f"ebr-alert-{alert.id}"}
        )
        response.raise_for_status()


class RecordingAlertSink:
    """Keeps the alerts it receives in memory (demo and tests)."""

    def __init__(self) -> None:
        self.received: list[Alert] = []

    def send(self, alert: Alert) -> None:
        """Record the alert and log it."""
        LogAlertSink().send(alert)
        self.received.append(alert)
