"""The dispatcher against the fake ERP over real HTTP, on SQLite and PostgreSQL: retries with backoff on transient
answers (ERP-05), dead letters with alert, incident and audit entry, order per batch (ERP-04), and delivery after
a crashed dispatcher, a lost answer or a whole outage (ERP-02, ERP-03)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.erp.http import ErpTimeouts, HttpErpTransport
from ebr.app.context import Actor, AuditContext
from ebr.app.dispatch import Dispatcher
from ebr.app.ports import AuditFilter, DeliveryAttempt, PostingStatus, StoredPosting, TransportResult
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.demo.fake_erp import FakeErp
from ebr.domain.audit import AuditEntry
from ebr.domain.erp import PostingKind
from ebr.worker.loop import JOBS, run_once
from tests.fakes import FakeClock, RecordingNotifier
from tests.integration.erp.support import LEASE, QUICK, Jitter, dispatcher, enqueue_all, posting, set_settings


@pytest.fixture
def jitter() -> Jitter:
    return Jitter(0.75)


@pytest.fixture
def sender(runtime: Runtime, erp: FakeErp, jitter: Jitter) -> Iterator[Dispatcher]:
    d = dispatcher(runtime, erp.url, jitter=jitter)
    yield d
    d.close()


def stored(rt: Runtime, message_id: int) -> StoredPosting:
    return rt.services.outbox.posting(message_id)


def attempts(rt: Runtime, message_id: int) -> list[DeliveryAttempt]:
    return rt.services.outbox.attempts(message_id)


def trail(rt: Runtime, message_id: int) -> list[AuditEntry]:
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return uow.audit.query(AuditFilter(object_type="erp_posting", object_id=str(message_id)))


FAILURES = {
    "503": lambda erp: setattr(erp, "fail_rate", 1.0),
    "429": lambda erp: (setattr(erp, "fail_rate", 1.0), setattr(erp, "fail_status", 429)),
    "500": lambda erp: (setattr(erp, "fail_rate", 1.0), setattr(erp, "fail_status", 500)),
    "408": lambda erp: (setattr(erp, "fail_rate", 1.0), setattr(erp, "fail_status", 408)),
    "connection refused": lambda erp: erp.set_down(True),
}


@pytest.mark.req("ERP-05")
@pytest.mark.error_handling("erp_5xx")
@pytest.mark.parametrize("failure", list(FAILURES))
def test_transient_failures_are_retried_on_an_exponential_schedule_with_jitter_then_dead(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock, jitter: Jitter, failure: str
) -> None:
    set_settings(runtime, erp_max_attempts=4, erp_backoff_base_seconds=10, erp_backoff_cap_seconds=25)
    FAILURES[failure](erp)
    (message_id,) = enqueue_all(runtime, [posting("B-RETRY")])
    for expected in (7.5, 15.0, 18.75):  # min(25, 10 * 2**(n-1)) * 0.75 for attempts 1, 2, 3
        assert sender.run_once().retried == 1
        due = stored(runtime, message_id).next_attempt_at
        assert due == clock.now() + timedelta(seconds=expected)
        assert sender.run_once().claimed == 0  # not due before its time
        clock.set(due)
    assert sender.run_once().dead == 1  # the fourth attempt is the last
    log = attempts(runtime, message_id)
    assert [(a.attempt, a.outcome) for a in log] == [(1, "retry"), (2, "retry"), (3, "retry"), (4, "dead")]
    status = None if failure == "connection refused" else int(failure)
    assert {a.http_status for a in log} == {status} and jitter.calls == [(0.5, 1.0)] * 3
    assert stored(runtime, message_id).status is PostingStatus.DEAD


@pytest.mark.req("ERP-05")
def test_the_erps_retry_after_is_a_floor_under_the_backoff(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock
) -> None:
    erp.fail_rate, erp.fail_status, erp.retry_after_s = 1.0, 429, 120
    (message_id,) = enqueue_all(runtime, [posting("B-LATER")])
    sender.run_once()
    assert stored(runtime, message_id).next_attempt_at == clock.now() + timedelta(seconds=120)


@pytest.mark.req("ERP-05")
@pytest.mark.req("OPS-01")
@pytest.mark.error_handling("erp_4xx")
def test_a_refused_posting_is_dead_at_once_with_an_alert_an_incident_and_an_audit_entry(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> None:
    erp.known_materials = {"PARA-500", "PARA-API"}
    item = posting("B-422", material="NEW-EXCIPIENT")
    (message_id,) = enqueue_all(runtime, [item])
    assert sender.run_once().dead == 1
    dead = stored(runtime, message_id)
    assert (dead.status, dead.attempts, dead.last_status) == (PostingStatus.DEAD, 1, 422)
    assert "NEW-EXCIPIENT" in dead.last_error
    (alert,) = alerts.received
    assert alert.kind == "erp-dead" and item.key in alert.message and "replay" in alert.message
    (incident,) = notifier.received
    assert (incident.kind, incident.severity) == ("erp_dead", "critical") and item.key in incident.message
    [recorded] = runtime.services.incidents.open_incidents()  # the record QA and the admin see, not only a notice
    assert (recorded.id, recorded.correlation_id) == (incident.id, item.key)
    assert recorded.opened_at == runtime.services.clock.now()
    (died,) = [e.draft for e in trail(runtime, message_id) if e.draft.field == "status"]
    assert (died.old_value, died.new_value, died.username) == ("pending", "dead", "system")
    assert item.key in died.reason and dead.payload_sha256 in died.reason and "HTTP 422" in died.reason
    assert sender.run_once().claimed == 0  # a dead posting is never sent again on its own


def test_running_out_of_attempts_is_dead_with_an_alert(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock, alerts: RecordingAlertSink
) -> None:
    set_settings(runtime, erp_max_attempts=2)
    erp.fail_rate = 1.0
    (message_id,) = enqueue_all(runtime, [posting("B-TIRED")])
    sender.run_once()
    clock.advance(hours=1)
    assert sender.run_once().dead == 1
    assert stored(runtime, message_id).last_error.startswith("HTTP 503")
    assert [a.kind for a in alerts.received] == ["erp-dead"]


@pytest.mark.req("ERP-04")
def test_a_later_posting_of_a_batch_waits_until_the_earlier_one_is_delivered(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock
) -> None:
    completion, decision = posting("B-ORDER"), posting("B-ORDER", PostingKind.USAGE_DECISION)
    other = posting("B-FREE")
    first, _, _ = enqueue_all(runtime, [completion, decision, other])
    erp.fail_next[completion.key] = 3
    for _ in range(3):
        sender.run_once()
        assert erp.deliveries[decision.key] == 0  # never overtakes the pending completion
        clock.advance(hours=1)
    assert erp.applied[other.key] == 1  # another batch is not held up
    sender.drain()
    assert erp.order == [other.key, completion.key, decision.key]
    assert [a.outcome for a in attempts(runtime, first)] == ["retry", "retry", "retry", "sent"]
    assert erp.max_in_flight_per_batch == 1


@pytest.mark.req("ERP-02")
def test_a_dispatcher_killed_between_its_lease_and_the_call_is_replaced_by_a_fresh_one(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock
) -> None:
    (message_id,) = enqueue_all(runtime, [posting("B-CRASH")])
    now = clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        uow.outbox.claim_due("killed-after-commit", now, now + LEASE, 20)  # leased, committed, then the process died
        uow.commit()
    assert sender.run_once().claimed == 0  # the lease is still live
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert sender.run_once().sent == 1
    assert erp.applied[posting("B-CRASH").key] == 1 and stored(runtime, message_id).status is PostingStatus.SENT


@pytest.mark.req("ERP-03")
def test_an_answer_lost_to_a_timeout_is_sent_again_with_the_same_bytes_and_applied_once(
    runtime: Runtime, erp: FakeErp, clock: FakeClock
) -> None:
    item = posting("B-TIMEOUT")
    (message_id,) = enqueue_all(runtime, [item])
    erp.delay_s = 0.6
    impatient = dispatcher(runtime, erp.url, timeouts=ErpTimeouts(connect=1.0, read=0.2, write=1.0, pool=1.0))
    try:
        assert impatient.run_once().retried == 1
        time.sleep(0.6)  # the ERP finishes what it received
        clock.advance(hours=1)
        assert impatient.run_once().sent == 1
    finally:
        impatient.close()
    assert erp.deliveries[item.key] == 2 and erp.applied[item.key] == 1
    sha = stored(runtime, message_id).payload_sha256
    assert set(erp.hashes[item.key]) == {sha} and {a.payload_sha256 for a in attempts(runtime, message_id)} == {sha}
    assert "ReadTimeout" in attempts(runtime, message_id)[0].error


@pytest.mark.req("ERP-02")
def test_an_erp_down_for_the_whole_run_then_up_gets_everything_exactly_once(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, clock: FakeClock
) -> None:
    items = [
        posting(f"B-OUT-{n}", kind) for n in range(3) for kind in (PostingKind.COMPLETION, PostingKind.USAGE_DECISION)
    ]
    ids = enqueue_all(runtime, items)
    erp.set_down(True)
    for _ in range(4):
        sender.run_once()
        clock.advance(hours=1)
    assert runtime.services.outbox.counts()[PostingStatus.PENDING] == len(items) and erp.deliveries.total() == 0
    assert "ConnectError" in stored(runtime, ids[0]).last_error
    erp.set_down(False)
    sender.drain()
    assert runtime.services.outbox.counts()[PostingStatus.SENT] == len(items)
    assert {item.key: (erp.deliveries[item.key], erp.applied[item.key]) for item in items} == {
        item.key: (1, 1) for item in items
    }


def test_without_an_erp_url_nothing_is_sent_and_the_log_says_so(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    (message_id,) = enqueue_all(runtime, [posting("B-NOURL")])
    with caplog.at_level(logging.WARNING):
        report = runtime.services.dispatcher.run_once()
    assert report.disabled and report.claimed == 0 and "EBR_ERP_URL" in caplog.text
    assert stored(runtime, message_id).status is PostingStatus.PENDING


class Interleaved:
    """A transport under which another dispatcher takes the posting over (our lease lapsed) before we send."""

    def __init__(self, other: Dispatcher, clock: FakeClock, inner: HttpErpTransport) -> None:
        self.other, self.clock, self.inner = other, clock, inner

    def send(self, key: str, content_type: str, body: bytes) -> TransportResult:
        self.clock.advance(seconds=LEASE.total_seconds() + 1)
        self.other.run_once()
        return self.inner.send(key, content_type, body)

    def close(self) -> None:
        self.inner.close()


def test_a_dispatcher_whose_lease_lapsed_keeps_its_evidence_and_leaves_the_posting_to_the_new_holder(
    runtime: Runtime, erp: FakeErp, clock: FakeClock
) -> None:
    item = posting("B-LAPSE")
    (message_id,) = enqueue_all(runtime, [item])
    erp.fail_next[item.key] = 2
    newcomer = dispatcher(runtime, erp.url, name="newcomer")
    slow = dispatcher(
        runtime, erp.url, "slow", transport=Interleaved(newcomer, clock, HttpErpTransport(erp.url, QUICK))
    )
    try:
        slow.run_once()
    finally:
        slow.close()
        newcomer.close()
    log = attempts(runtime, message_id)
    assert [(a.attempt, a.dispatcher, a.outcome) for a in log] == [(1, "newcomer", "retry"), (2, "slow", "retry")]
    assert log[1].error.startswith("lease lost")
    after = stored(runtime, message_id)
    assert after.status is PostingStatus.PENDING and after.claimed_by is None and after.next_attempt_at > clock.now()


def test_the_worker_job_delivers_due_postings_and_says_when_there_is_no_erp(
    runtime: Runtime, settings: Settings, erp: FakeErp, clock: FakeClock
) -> None:
    (job,) = [j for j in JOBS if j.name == "erp"]
    items = [posting("B-WORKER"), posting("B-WORKER", PostingKind.USAGE_DECISION)]
    enqueue_all(runtime, items)
    assert "no ERP endpoint" in str(run_once(runtime, (job,))["erp"])
    wired = build(settings.with_(erp_url=erp.url), clock=clock)
    try:
        assert run_once(wired, (job,)) == {"erp": "2 sent, 0 to retry, 0 dead"}
    finally:
        wired.services.dispatcher.close()
        wired.engine.dispose()
    assert erp.order == [item.key for item in items]
