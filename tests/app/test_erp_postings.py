"""ERP postings made in the transaction of the state change (ERP-02, ERP-07, ERP-08): completion posts the goods
receipt into quality inspection and the lots consumed, release or rejection the usage decision, cancellation an
aborted performance, and a correction of posted quantities a reversal followed by the corrected posting."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ebr.adapters.batchml.performance import parse_performance
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.app.erp_postings import ErpPostings
from ebr.app.ports import UnitOfWork
from ebr.app.ports.erp import StoredPosting
from ebr.app.record import record_digest
from ebr.bootstrap import Runtime
from ebr.domain.batch import BatchStatus
from ebr.domain.erp import MaterialUse, PostingKind, posting_key
from tests.app.execution_support import Floor, run_next, running_batch
from tests.app.record_support import granulation_batch, step_record
from tests.app.review_support import decide, in_review, ready_for_release, reviewer
from tests.fakes import FakeClock

Json = dict[str, Any]


def postings(rt: Runtime, batch_id: str) -> list[StoredPosting]:
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return uow.outbox.for_aggregate(batch_id)


def payload(rt: Runtime, posting: StoredPosting) -> bytes:
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return uow.outbox.frozen(posting.id).payload


def run_to_end(floor: Floor) -> int:
    """Run every open step; returns how many signatures the batch took before it completed, none posted before."""
    signatures = 0
    while floor.open_steps():
        assert postings(floor.rt, floor.batch_id) == [], "nothing is posted before the batch completes"
        run_next(floor, floor.rt.services.clock.now())
        signatures += 1
    return signatures


@pytest.mark.req("ERP-08")
def test_completion_is_posted_with_the_last_signature_and_only_then(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    assert run_to_end(floor) > 2
    assert runtime.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.COMPLETED
    [posting] = postings(runtime, floor.batch_id)
    record = runtime.services.records.record(floor.batch_id)
    assert (posting.kind, posting.revision, posting.status) == ("completion", 1, "pending")
    assert posting.key == posting_key(runtime.settings.site_id, floor.batch_id, PostingKind.COMPLETION, 1)
    assert posting.record_hash == record_digest(record)
    parsed = parse_performance(payload(runtime, posting))
    assert (parsed.bodid, parsed.batch_id, parsed.state) == (posting.key, floor.batch_id, "Completed")
    assert parsed.data["BatchRecordSHA256"] == posting.record_hash


@pytest.mark.req("ERP-02")
def test_a_failure_after_the_posting_is_written_rolls_back_the_completion_and_the_posting(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    floor = running_batch(runtime)
    original = ErpPostings.after_change

    def then_fail(self: ErpPostings, uow: UnitOfWork, batch_pk: int, at: datetime) -> None:
        original(self, uow, batch_pk, at)
        if uow.outbox.for_aggregate(floor.batch_id):  # the posting row is written: now the transaction fails
            raise RuntimeError("the disk filled up after the posting was written")

    monkeypatch.setattr(ErpPostings, "after_change", then_fail)
    with pytest.raises(RuntimeError, match="disk filled up"):
        while floor.open_steps():
            run_next(floor, runtime.services.clock.now())
    assert postings(runtime, floor.batch_id) == []
    assert runtime.services.execution.batch(floor.batch_id).batch.batch.status is BatchStatus.IN_PROGRESS
    assert floor.open_steps(), "the last step is still open: its signature rolled back with the posting"
    monkeypatch.undo()
    run_to_end(floor)
    assert [p.kind for p in postings(runtime, floor.batch_id)] == ["completion"]


def _lines(parsed_lines: Any) -> list[tuple[str, str, str, str, Decimal, str]]:
    return sorted((str(x.use), x.material_code, x.lot, x.container or "", x.quantity, x.unit) for x in parsed_lines)


def _expected(record: Json) -> list[tuple[str, str, str, str, Decimal, str]]:
    lot, produced = record["produced_lot"], record["produced_lot"]["produced"]
    found = [("Produced", lot["material_code"], lot["lot_number"], "", Decimal(produced["quantity"]), produced["unit"])]
    if Decimal(produced["scrap"]) > 0:
        found.append(
            ("Scrap", lot["material_code"], lot["lot_number"], "", Decimal(produced["scrap"]), produced["unit"])
        )
    found += [
        ("Consumed", d["material_code"], d["lot_number"], d["source_container"], Decimal(d["net"]), d["unit"])
        for d in record["dispensings"]
    ]
    return sorted(found)


@pytest.mark.req("ERP-07")
@pytest.mark.req("ERP-08")
def test_the_goods_receipt_equals_the_record_and_a_corrected_quantity_is_reversed_then_posted_again(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = granulation_batch(runtime, clock)  # completed, then a signed correction of a line-clearance entry
    [first] = postings(runtime, floor.batch_id)  # a correction that changes no posted quantity posts nothing
    record: Json = runtime.services.records.record(floor.batch_id)
    parsed = parse_performance(payload(runtime, first))
    assert _lines(parsed.lines) == _expected(record) and len(record["dispensings"]) == 5
    assert {x.quality_status for x in parsed.lines if x.use is MaterialUse.PRODUCED} == {"QualityInspection"}
    assert parsed.data["YieldPercent"] == record["yields"][-1]["yield_percent"]

    compression = step_record(floor, "end_compression")
    correction = {"field": "tablets_mass", "value": "116.000", "unit": "kg"}
    floor.act(
        "correct", floor.operator, "corrected", "net weight re-read", step_pk=compression.id, parameters=correction
    )
    first_again, reversal, second = postings(runtime, floor.batch_id)
    assert first_again.key == first.key and (reversal.kind, second.kind) == ("reversal", "completion")
    assert reversal.reverses == first.key and second.revision == 2 and second.key not in (first.key, reversal.key)
    corrected: Json = runtime.services.records.record(floor.batch_id)
    assert corrected["produced_lot"]["produced"]["quantity"] == "116.000"
    assert _lines(parse_performance(payload(runtime, second)).lines) == _expected(corrected)
    assert _lines(parse_performance(payload(runtime, reversal)).lines) == _lines(parsed.lines)
    assert second.record_hash == record_digest(corrected)


@pytest.mark.req("ERP-08")
def test_release_posts_the_usage_decision_linked_to_the_released_record(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor, qa = ready_for_release(runtime, plant)
    runtime.services.documents.render_candidate(floor.batch_id)
    decide(floor, qa)
    completion, decision = postings(runtime, floor.batch_id)
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        released = uow.documents.current(uow.batches.get(floor.batch_id).id, "released")
    assert released is not None and completion.kind == "completion"
    assert (decision.kind, decision.revision, decision.record_hash) == ("usage_decision", 1, released.record_hash)
    parsed = parse_performance(payload(runtime, decision))
    assert parsed.data["QualityDisposition"] == "Released" and parsed.data["BatchRecordSHA256"] == released.record_hash


@pytest.mark.req("ERP-08")
def test_a_rejected_batch_gets_the_rejected_usage_decision_and_no_further_goods_receipt(
    runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = in_review(runtime, plant)
    decide(floor, reviewer(runtime), "reject", "sample failed identity")
    kinds = [(p.kind, p.revision) for p in postings(runtime, floor.batch_id)]
    assert kinds == [("completion", 1), ("usage_decision", 1)]
    [_, decision] = postings(runtime, floor.batch_id)
    parsed = parse_performance(payload(runtime, decision))
    assert parsed.data["QualityDisposition"] == "Rejected"
    assert all(x.quality_status == "Rejected" for x in parsed.lines if x.use is MaterialUse.PRODUCED)


def test_a_cancelled_batch_posts_an_aborted_performance_once(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    run_next(floor, runtime.services.clock.now())
    floor.act("cancel", floor.supervisor, "cancelled", "contaminated room: batch abandoned")
    [aborted] = postings(runtime, floor.batch_id)
    parsed = parse_performance(payload(runtime, aborted))
    assert (aborted.kind, parsed.state) == ("aborted", "Aborted")
    assert not [x for x in parsed.lines if x.use is not MaterialUse.CONSUMED]  # nothing produced
