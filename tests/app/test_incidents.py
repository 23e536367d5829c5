"""Incidents: opened once per key inside the caller's transaction, notified once, acknowledged with an audit entry."""

from __future__ import annotations

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.incidents import open_incident
from ebr.app.ports import Incident
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import to_utc_text
from ebr.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ebr.worker.loop import JOBS, run_once
from tests.app.masterdata_support import trail
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock, RecordingNotifier

HOLD = ("hold-overdue:17", "hold_overdue", "warning", "Hold time exceeded", "Step 17 of batch B-1 waited too long.")


def opened(runtime: Runtime, key: str = HOLD[0], commit: bool = True) -> Incident | None:
    """Open an incident as a use case would, in its own unit of work."""
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        incident = open_incident(uow, key, *HOLD[1:], now=now)
        if commit:
            uow.commit()
    return incident


def test_an_opened_incident_is_listed_with_its_time(runtime: Runtime, clock: FakeClock) -> None:
    incident = opened(runtime)
    assert incident is not None
    assert (incident.key, incident.kind, incident.severity, incident.opened_at) == (
        "hold-overdue:17",
        "hold_overdue",
        "warning",
        clock.now(),
    )
    assert runtime.services.incidents.open_incidents() == [incident]


def test_the_same_key_opens_one_incident_even_within_one_transaction(runtime: Runtime) -> None:
    first = opened(runtime)
    assert opened(runtime) is None
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        second = open_incident(uow, "hold-overdue:18", *HOLD[1:], now=now)
        assert open_incident(uow, "hold-overdue:18", *HOLD[1:], now=now) is None
        uow.commit()
    assert [i.id for i in runtime.services.incidents.open_incidents()] == [second.id, first.id]  # type: ignore[union-attr]


def test_an_incident_of_a_rolled_back_transaction_never_existed(runtime: Runtime) -> None:
    assert opened(runtime, commit=False) is not None
    assert runtime.services.incidents.open_incidents() == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"key": " "}, "key is required"),
        ({"key": "k" * 201}, "key is required"),
        ({"kind": ""}, "kind is required"),
        ({"severity": "urgent"}, "severity must be one of info, warning, critical"),
        ({"subject": "  "}, "needs a subject"),
    ],
)
def test_a_malformed_incident_is_refused(runtime: Runtime, changes: dict[str, str], problem: str) -> None:
    now = runtime.services.clock.now()
    fields = dict(zip(("key", "kind", "severity", "subject", "message"), HOLD, strict=True)) | changes
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow, pytest.raises(InvalidInput, match=problem):
        open_incident(uow, now=now, **fields)


def test_a_long_subject_is_cut_not_refused(runtime: Runtime) -> None:
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        incident = open_incident(uow, "long", "check", "info", "S" * 300, "body", now)
        uow.commit()
    assert incident is not None and incident.subject == "S" * 200


def test_pending_incidents_are_notified_once_and_marked(
    runtime: Runtime, notifier: RecordingNotifier, clock: FakeClock
) -> None:
    incident = opened(runtime)
    assert incident is not None
    clock.advance(seconds=30)
    assert runtime.services.incidents.deliver_pending() == 1
    assert [i.key for i in notifier.received] == ["hold-overdue:17"]
    assert runtime.services.incidents.deliver_pending() == 0
    assert len(notifier.received) == 1
    [listed] = runtime.services.incidents.open_incidents()
    assert (listed.notified_at, listed.attempts) == (clock.now(), 1)


def test_a_failed_delivery_stays_pending_counts_the_attempt_and_goes_out_later(
    runtime: Runtime, notifier: RecordingNotifier
) -> None:
    opened(runtime)
    notifier.failing = True
    assert runtime.services.incidents.deliver_pending() == 0
    assert runtime.services.incidents.deliver_pending() == 0
    [pending] = runtime.services.incidents.open_incidents()
    assert (pending.notified_at, pending.attempts) == (None, 2)
    notifier.failing = False
    assert runtime.services.incidents.deliver_pending() == 1
    assert [i.id for i in notifier.received] == [pending.id]


def test_the_worker_job_delivers_incidents(runtime: Runtime, notifier: RecordingNotifier) -> None:
    opened(runtime)
    [job] = [j for j in JOBS if j.name == "incidents"]
    assert run_once(runtime, (job,)) == {"incidents": 1}
    assert len(notifier.received) == 1


def test_an_acknowledgement_is_audited_with_who_when_and_what_was_done(runtime: Runtime, clock: FakeClock) -> None:
    incident = opened(runtime)
    assert incident is not None
    qa = make_user(runtime, Role.QA)
    clock.advance(minutes=3)
    done = runtime.services.incidents.acknowledge(actor_of(qa), incident.id, "called the line; hold released")
    assert (done.acknowledged_at, done.acknowledged_by) == (clock.now(), qa.id)
    assert runtime.services.incidents.open_incidents() == []
    [entry] = trail(runtime, "incident", str(incident.id))
    draft = entry.draft
    assert (draft.action, draft.username, draft.field, draft.old_value, draft.new_value, draft.reason) == (
        "state_change",
        qa.username,
        "acknowledged_at",
        None,
        to_utc_text(clock.now()),
        "called the line; hold released",
    )
    assert draft.at == clock.now()


def test_an_incident_is_acknowledged_once(runtime: Runtime) -> None:
    incident = opened(runtime)
    assert incident is not None
    supervisor, admin = make_user(runtime, Role.SUPERVISOR), make_user(runtime, Role.ADMIN)
    runtime.services.incidents.acknowledge(actor_of(supervisor), incident.id, "seen")
    with pytest.raises(Conflict, match="already acknowledged"):
        runtime.services.incidents.acknowledge(actor_of(admin), incident.id, "seen too")
    assert len(trail(runtime, "incident")) == 1


def test_acknowledging_needs_the_permission_a_reason_and_an_existing_incident(runtime: Runtime) -> None:
    incident = opened(runtime)
    assert incident is not None
    with pytest.raises(PermissionDenied, match="incident.acknowledge"):
        runtime.services.incidents.acknowledge(actor_of(make_user(runtime, Role.OPERATOR)), incident.id, "seen")
    qa = actor_of(make_user(runtime, Role.QA))
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.incidents.acknowledge(qa, incident.id, " ")
    with pytest.raises(NotFound):
        runtime.services.incidents.acknowledge(qa, incident.id + 1, "seen")
    assert runtime.services.incidents.open_incidents() == [incident]
    assert trail(runtime, "incident") == []


def test_an_incident_acknowledged_before_delivery_is_not_sent_any_more(
    runtime: Runtime, notifier: RecordingNotifier
) -> None:
    incident = opened(runtime)
    assert incident is not None
    runtime.services.incidents.acknowledge(actor_of(make_user(runtime, Role.QA)), incident.id, "handled at once")
    assert runtime.services.incidents.deliver_pending() == 0
    assert notifier.received == []
