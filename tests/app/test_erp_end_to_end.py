"""The issue's proof, end to end: a demo batch's completion and release are made while the ERP is down; when it comes
back, each reaches it exactly once, schema-valid, in order, with identical bytes on every attempt (ERP-02..08)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from ebr.adapters.batchml.performance import parse_performance
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.bootstrap import Runtime
from ebr.demo.fake_erp import FakeErp
from ebr.domain.erp import PostingKind, posting_key
from tests.app.review_support import decide, ready_for_release
from tests.fakes import FakeClock
from tests.integration.erp.support import dispatcher


@pytest.fixture
def erp() -> Iterator[FakeErp]:
    """The fake ERP on a loopback port: it validates every posting against the B2MML schema and deduplicates keys."""
    with FakeErp(seed=11) as fake:
        yield fake


def test_completion_and_release_made_while_the_erp_was_down_reach_it_once_each_in_order(
    runtime: Runtime, plant: SimulatedPlant, erp: FakeErp, clock: FakeClock
) -> None:
    erp.stop()  # the ERP is down while the batch completes and QA releases it
    sender = dispatcher(runtime, erp.url)
    try:
        floor, qa = ready_for_release(runtime, plant)
        assert sender.run_once().retried == 1  # the completion: connection refused, retried later
        runtime.services.documents.render_candidate(floor.batch_id)
        decide(floor, qa)
        clock.advance(minutes=30)
        assert sender.run_once().retried == 1  # still down: the head waits, the usage decision behind it
        erp.start()
        clock.advance(minutes=30)
        report = sender.drain()
    finally:
        sender.close()
    site = runtime.settings.site_id
    completion = posting_key(site, floor.batch_id, PostingKind.COMPLETION, 1)
    decision = posting_key(site, floor.batch_id, PostingKind.USAGE_DECISION, 1)
    assert report.sent == 2 and erp.order == [completion, decision]
    assert erp.applied[completion] == erp.applied[decision] == 1
    assert all(len(set(erp.hashes[key])) == 1 for key in (completion, decision))
    with runtime.services.uow(AuditContext(Actor.system(), clock.now())) as uow:
        stored = uow.outbox.for_aggregate(floor.batch_id)
        sent = {p.key: uow.outbox.frozen(p.id).payload for p in stored}
        attempts = {p.key: uow.outbox.attempts(p.id) for p in stored}
    assert [p.status for p in stored] == ["sent", "sent"]
    assert len(attempts[completion]) == 3 and len(attempts[decision]) == 1
    assert {a.payload_sha256 for a in attempts[completion]} == {stored[0].payload_sha256}
    assert parse_performance(sent[decision]).data["QualityDisposition"] == "Released"
    assert parse_performance(sent[completion]).batch_id == floor.batch_id
    assert clock.now() - stored[0].created_at >= timedelta(minutes=60)
