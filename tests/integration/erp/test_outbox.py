"""The outbox on SQLite and PostgreSQL: a posting commits or rolls back with its state change (ERP-02), its bytes,
JSON and SHA-256 are frozen at enqueue and audited, a double enqueue is harmless, and claiming takes the head
posting of each batch only, under a lease that a crashed dispatcher gives up when it expires (ERP-04)."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from ebr.adapters.batchml.performance import performance_json, performance_xml, validate_performance
from ebr.app.context import Actor, AuditContext
from ebr.app.outbox import FunctionEncoder, enqueue
from ebr.app.ports import AuditFilter, PostingStatus
from ebr.bootstrap import Runtime, posting_encoder
from ebr.domain.erp import PostingKind
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.orders import OrderStatus, ProductionOrder
from tests.fakes import FakeClock
from tests.integration.erp.support import enqueue_all, posting

LEASE = timedelta(minutes=5)


def _system(rt: Runtime, reason: str = "test") -> AuditContext:
    return AuditContext(Actor.system(), rt.services.clock.now(), reason)


def _order(rt: Runtime) -> int:
    order = ProductionOrder("PO-B-ROLL", "PARA-500", Decimal("120"), "kg", "B-ROLL")
    return rt.services.orders.create(Actor.system(), order, "ERP order received").id


def _cancel_and_post(rt: Runtime, order_id: int, fail: bool) -> None:
    """The shape of a real use case: the state change and its posting in one unit of work, then commit."""
    with rt.services.uow(_system(rt, "order cancelled")) as uow:
        uow.orders.set_status(order_id, str(OrderStatus.CANCELLED), rt.services.clock.now(), "order cancelled")
        enqueue(uow, posting("B-ROLL", PostingKind.ABORTED), posting_encoder(), batch_pk=None, record_hash=None)
        if fail:
            raise RuntimeError("the database went away between the insert and the commit")
        uow.commit()


@pytest.mark.req("ERP-02")
def test_a_failure_after_enqueue_leaves_neither_the_state_change_nor_the_posting(runtime: Runtime) -> None:
    order_id = _order(runtime)
    with pytest.raises(RuntimeError, match="went away"):
        _cancel_and_post(runtime, order_id, fail=True)
    assert runtime.services.orders.get(order_id).order.status is OrderStatus.PLANNED
    assert runtime.services.outbox.dashboard() == []
    with runtime.services.uow(_system(runtime)) as uow:
        assert uow.audit.query(AuditFilter(object_type="erp_posting")) == []
    _cancel_and_post(runtime, order_id, fail=False)  # the same unit of work, committed: both are there
    assert runtime.services.orders.get(order_id).order.status is OrderStatus.CANCELLED
    assert [row.posting.kind for row in runtime.services.outbox.dashboard()] == ["aborted"]


@pytest.mark.req("ERP-03")
def test_enqueue_freezes_the_bytes_their_json_and_hash_and_the_trail_names_the_hash(runtime: Runtime) -> None:
    item = posting("B-FROZEN")
    (message_id,) = enqueue_all(runtime, [item])
    frozen = runtime.services.outbox.frozen(message_id)
    assert frozen.payload == performance_xml(item) and frozen.payload_json == performance_json(item)
    assert frozen.payload_sha256 == hashlib.sha256(frozen.payload).hexdigest() and frozen.key == item.key
    stored = runtime.services.outbox.posting(message_id)
    assert (stored.status, stored.attempts, stored.aggregate, stored.content_type) == (
        PostingStatus.PENDING,
        0,
        "B-FROZEN",
        "application/xml",
    )
    with runtime.services.uow(_system(runtime)) as uow:
        (created,) = uow.audit.query(AuditFilter(object_type="erp_posting", object_id=str(message_id)))
    assert created.draft.action == "create" and frozen.payload_sha256 in (created.draft.new_value or "")
    assert item.key in (created.draft.new_value or "")


def test_enqueueing_the_same_event_again_returns_the_posting_already_there(runtime: Runtime) -> None:
    item = posting("B-TWICE")
    first = enqueue_all(runtime, [item])
    second = enqueue_all(runtime, [item])  # a double click: same event, same bytes
    assert first == second
    assert [row.posting.id for row in runtime.services.outbox.dashboard()] == first


def test_the_same_key_with_other_bytes_is_refused_and_the_first_posting_stands(runtime: Runtime) -> None:
    (message_id,) = enqueue_all(runtime, [posting("B-OTHER")])
    before = runtime.services.outbox.frozen(message_id)
    with pytest.raises(Conflict, match="never a re-post"):
        enqueue_all(runtime, [posting("B-OTHER", produced="99")])
    assert runtime.services.outbox.frozen(message_id) == before
    assert len(runtime.services.outbox.dashboard()) == 1


@pytest.mark.req("ERP-06")
def test_a_posting_the_schema_refuses_is_never_enqueued(runtime: Runtime) -> None:
    def scrap_as_material_use(item: object) -> bytes:
        return performance_xml(item).replace(b"<MaterialUse>Produced<", b"<MaterialUse>Scrap<")  # type: ignore[arg-type]

    broken = FunctionEncoder(scrap_as_material_use, performance_json, validate_performance)
    with runtime.services.uow(_system(runtime)) as uow, pytest.raises(InvalidInput, match="MaterialUse"):
        enqueue(uow, posting("B-INVALID"), broken, batch_pk=None, record_hash=None)
    assert runtime.services.outbox.dashboard() == []


def test_a_record_hash_must_be_a_sha256(runtime: Runtime) -> None:
    with runtime.services.uow(_system(runtime)) as uow, pytest.raises(InvalidInput, match="SHA-256"):
        enqueue(uow, posting("B-HASH"), posting_encoder(), batch_pk=None, record_hash="not-a-hash")


def _claim(rt: Runtime, name: str, limit: int = 50) -> list[str]:
    now = rt.services.clock.now()
    with rt.services.uow(_system(rt)) as uow:
        claimed = uow.outbox.claim_due(name, now, now + LEASE, limit)
        uow.commit()
    return [c.key for c in claimed]


def _sent(rt: Runtime, key: str) -> None:
    with rt.services.uow(_system(rt)) as uow:
        found = uow.outbox.by_key(key)
        assert found is not None
        uow.outbox.mark_sent(found.id, 200, rt.services.clock.now())
        uow.commit()


@pytest.mark.req("ERP-04")
def test_only_the_head_posting_of_each_batch_is_claimed_and_the_next_once_it_is_sent(runtime: Runtime) -> None:
    completion, decision, other = posting("B-A"), posting("B-A", PostingKind.USAGE_DECISION), posting("B-B")
    enqueue_all(runtime, [completion, decision, other])
    assert _claim(runtime, "d1") == [completion.key, other.key]
    assert _claim(runtime, "d2") == []  # leased, and the decision waits behind its batch's completion
    _sent(runtime, completion.key)
    assert _claim(runtime, "d2") == [decision.key]


def test_a_dead_posting_holds_back_the_later_postings_of_its_batch(runtime: Runtime) -> None:
    completion, decision = posting("B-DEAD"), posting("B-DEAD", PostingKind.USAGE_DECISION)
    first, _ = enqueue_all(runtime, [completion, decision])
    with runtime.services.uow(_system(runtime)) as uow:
        uow.outbox.mark_dead(first, 422, "refused")
        uow.commit()
    assert _claim(runtime, "d1") == []
    (row,) = [r for r in runtime.services.outbox.dashboard() if r.posting.key == decision.key]
    assert row.waiting_behind == first


def test_a_lease_that_expired_makes_the_posting_claimable_again(runtime: Runtime, clock: FakeClock) -> None:
    (item,) = [posting("B-LEASE")]
    enqueue_all(runtime, [item])
    assert _claim(runtime, "crashed") == [item.key]
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert _claim(runtime, "fresh") == []
    clock.advance(seconds=2)
    assert _claim(runtime, "fresh") == [item.key]
    stored = runtime.services.outbox.posting(runtime.services.outbox.dashboard()[0].posting.id)
    assert (stored.claimed_by, stored.attempts) == ("fresh", 2)


@pytest.mark.req("ERP-04")
def test_concurrent_claimers_take_each_head_once_and_never_two_postings_of_one_batch(runtime: Runtime) -> None:
    batches = [f"B-RACE-{n:02d}" for n in range(12)]
    items = [posting(b, kind) for b in batches for kind in (PostingKind.COMPLETION, PostingKind.USAGE_DECISION)]
    enqueue_all(runtime, items)
    start, results, errors = threading.Barrier(6), [], []

    def claimer(name: str) -> None:
        try:
            start.wait()
            results.append(_claim(runtime, name, limit=5))
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"d{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    claimed = [key for keys in results for key in keys]
    heads = {item.key for item in items if item.kind is PostingKind.COMPLETION}
    assert len(claimed) == len(set(claimed)) == len(batches) and set(claimed) == heads
