"""The scheduled integrity check runs the whole verifier, records every run's result in the audit trail, and on a
failure raises an alert and opens an incident (REC-07)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.models import SignatureRow
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.audit import to_utc_text
from ebr.worker.loop import HOURLY, run_once
from tests.fakes import FakeClock
from tests.integration.db import tampering
from tests.integration.db.activity import record_real_activity


def _recorded_results(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        entries = uow.audit.query(AuditFilter(action="integrity_check"))
    return [json.loads(e.draft.new_value or "") for e in entries]


@pytest.fixture
def activity(runtime: Runtime, clock: FakeClock) -> int:
    return record_real_activity(runtime, clock)


@pytest.mark.req("REC-07")
def test_a_clean_run_records_a_passed_result_and_raises_nothing(
    runtime: Runtime, alerts: RecordingAlertSink, activity: int
) -> None:
    results = run_once(runtime, HOURLY)

    assert json.loads(str(results["integrity-check"]))["result"] == "passed"
    [recorded] = _recorded_results(runtime)
    assert recorded["result"] == "passed"
    assert recorded["findings"] == {"audit trail": 0, "signatures": 0, "documents": 0}
    assert alerts.received == []
    assert runtime.services.incidents.open_incidents() == []
    assert runtime.services.trail.verify() == []  # recording the result kept the chain intact


@pytest.mark.req("REC-07")
@pytest.mark.req("OPS-01")
def test_an_audit_row_changed_through_raw_sql_fails_the_run_with_an_alert_an_incident_and_a_recorded_result(
    runtime: Runtime, owner_url: str, alerts: RecordingAlertSink, activity: int
) -> None:
    tampering.edit_and_rehash(owner_url, activity - 2, '{"roles": "admin"}')

    run_once(runtime, HOURLY)

    [recorded] = _recorded_results(runtime)
    assert recorded["result"] == "failed"
    assert recorded["findings"]["audit trail"] > 0  # type: ignore[index]
    [alert] = alerts.received
    assert alert.kind == "integrity" and f"entry {activity - 2}" in alert.message
    [incident] = runtime.services.incidents.open_incidents()
    assert (incident.kind, incident.severity, incident.subject) == (
        "integrity_check",
        "critical",
        "Integrity check failed",
    )
    assert f"entry {activity - 2}" in incident.message
    # The incident names the run it came from and when: the recorded result carries the same time.
    assert incident.correlation_id == f"integrity-check:{to_utc_text(incident.opened_at)}"
    assert incident.opened_at == runtime.services.clock.now()


@pytest.mark.req("REC-07")
def test_a_signature_row_changed_through_raw_sql_fails_the_run_too(
    runtime: Runtime, owner_url: str, alerts: RecordingAlertSink, activity: int
) -> None:
    triggers = ("signature_no_update", "signature_no_delete")
    with tampering.as_owner(owner_url, triggers) as conn:
        conn.execute(update(SignatureRow.__table__).values(meaning="reviewed"))

    run_once(runtime, HOURLY)

    [recorded] = _recorded_results(runtime)
    assert recorded["result"] == "failed" and recorded["findings"]["signatures"] > 0  # type: ignore[index]
    assert [a.kind for a in alerts.received] == ["integrity"]
    assert "signatures: signature" in runtime.services.incidents.open_incidents()[0].message
