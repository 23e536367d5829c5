"""Incident delivery: the log (always), a JSON webhook or an SMTP relay, as the deployment configures."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

from ebr.app.ports import DeliveryFailed, Incident
from ebr.domain.audit import to_utc_text

log = logging.getLogger("ebr.incidents")


def _text(incident: Incident) -> str:
    return (
        f"{incident.message}\n\n"
        f"Severity: {incident.severity}\nKind: {incident.kind}\nKey: {incident.key}\n"
        f"Opened: {to_utc_text(incident.opened_at)}\nIncident: #{incident.id}\n"
    )


class LogNotifier:
    """Writes each incident to the application log at WARNING: the default when nothing else is configured."""

    def send(self, incident: Incident) -> None:
        """Log the incident."""
        i = incident
        log.warning("INCIDENT #%s [%s] %s (%s): %s", i.id, i.severity, i.subject, i.key, i.message)


class WebhookNotifier:
    """POSTs each incident as JSON; anything but a 2xx answer is a failed delivery, retried later."""

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._url = url
        self._timeout = timeout_seconds

    def send(self, incident: Incident) -> None:
        """POST and require a 2xx."""
        LogNotifier().send(incident)
        body = {
            "id": incident.id,
            "key": incident.key,
            "kind": incident.kind,
            "severity": incident.severity,
            "subject": incident.subject,
            "message": incident.message,
            "opened_at": to_utc_text(incident.opened_at),
        }
        # The receiver may see a retry of a delivery it accepted but whose answer was lost: the key tells.
        headers = {"Idempotency-Key": f"ebr-incident-{incident.id}"}
        try:
            response = httpx.post(self._url, json=body, timeout=self._timeout, headers=headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook refused incident {incident.id}: {exc}") from exc


class EmailNotifier:
    """Sends each incident as a plain-text e-mail through an SMTP relay."""

    def __init__(
        self, host: str, port: int, sender: str, recipients: Sequence[str], timeout_seconds: float = 10.0
    ) -> None:
        if not recipients:
            raise ValueError("an e-mail notifier needs at least one recipient")
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = list(recipients)
        self._timeout = timeout_seconds

    def message(self, incident: Incident) -> EmailMessage:
        """The e-mail for one incident."""
        mail = EmailMessage()
        mail["Subject"] = f"[eBR {incident.severity}] {incident.subject}"
        mail["From"] = self._sender
        mail["To"] = ", ".join(self._recipients)
        mail["X-Ebr-Incident"] = incident.key
        mail.set_content(_text(incident))
        return mail

    def send(self, incident: Incident) -> None:
        """Hand the e-mail to the relay; a refused recipient or a dead relay is a failed delivery."""
        LogNotifier().send(incident)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                refused = smtp.send_message(self.message(incident))
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"e-mail for incident {incident.id} not accepted: {exc}") from exc
        if refused:
            # Some recipients took it: a retry would send them duplicates, so the rest is only logged.
            log.error("e-mail for incident %s refused for %s", incident.id, sorted(refused))
