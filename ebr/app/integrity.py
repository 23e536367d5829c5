"""The integrity check (VAL-02 verifier) as one use case: `ebr verify` runs it, the worker runs and records it.

A scheduled run leaves an audit entry with its result either way, and a failure raises an alert and opens an
incident in the same transaction (REC-07, Annex 11 §5 and §9).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ebr.app.alerts import raise_alert
from ebr.app.context import Actor, AuditContext
from ebr.app.documents import SignatureCheck
from ebr.app.incidents import Severity, open_incident
from ebr.app.services import Services
from ebr.domain.audit import Action, to_utc_text

AREAS = ("audit trail", "signatures", "documents")
SHOWN = 20  # findings quoted in the alert; the full list is in the report and the incident message


@dataclass(frozen=True)
class IntegrityReport:
    """What one run found, per area; no finding anywhere means it passed."""

    at: datetime
    findings: dict[str, list[str]]

    @property
    def passed(self) -> bool:
        """True when no area has a finding."""
        return not any(self.findings.values())

    def summary(self) -> str:
        """A stable JSON line: result, time and the number of findings per area."""
        counts = {area: len(found) for area, found in self.findings.items()}
        result = "passed" if self.passed else "failed"
        return json.dumps({"result": result, "at": to_utc_text(self.at), "findings": counts}, sort_keys=True)


class IntegrityService:
    """Runs the audit chain, signature and stored-document verifiers together."""

    def __init__(self, services: Services, signature_check: SignatureCheck | None) -> None:
        self._services = services
        self._signature_check = signature_check

    def check(self) -> IntegrityReport:
        """Verify everything verifiable; records nothing (ebr verify)."""
        svc = self._services
        findings = {
            "audit trail": [str(f) for f in svc.trail.verify()],
            "signatures": [str(f) for f in svc.signing.verify()],
            "documents": [str(f) for f in svc.documents.verify(self._signature_check)],
        }
        return IntegrityReport(svc.clock.now(), findings)

    def run_scheduled(self) -> IntegrityReport:
        """Check, then record the result as an audit entry; a failure also raises an alert and an incident."""
        report = self.check()
        self._record(report)
        if not report.passed:
            self._services.alerts.deliver_pending()  # at once: an integrity failure must not wait a round
        return report

    def _record(self, report: IntegrityReport) -> None:
        svc = self._services
        now = report.at
        with svc.uow(AuditContext(Actor.system(), now)) as uow:
            summary = report.summary()
            uow.audit.append(
                Action.INTEGRITY_CHECK, "system", "integrity", field="result", new=summary, reason="scheduled check"
            )
            if not report.passed:
                details = _details(report)
                raise_alert(uow, "integrity", f"Integrity check failed: {details}", svc.clock)
                key = f"integrity-check:{to_utc_text(now)}"
                message = f"{summary}\n" + "\n".join(f"{a}: {f}" for a in AREAS for f in report.findings[a])
                subject = "Integrity check failed"
                open_incident(uow, key, "integrity_check", Severity.CRITICAL, subject, message, now, correlation_id=key)
            uow.commit()


def _details(report: IntegrityReport) -> str:
    quoted = [f"{area}: {f}" for area in AREAS for f in report.findings[area]]
    more = len(quoted) - SHOWN
    return "; ".join(quoted[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
