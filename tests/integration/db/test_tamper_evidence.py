"""AUD-06: edits, deletions, reorderings and tail truncation made as the database owner are found by the verifier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ebr.bootstrap import Runtime
from ebr.domain.audit import Checkpoint
from tests.fakes import FakeClock
from tests.integration.db import tampering
from tests.integration.db.activity import record_real_activity
from tests.integration.db.tampering import ENTRY, chain_head


@pytest.fixture
def sealed(runtime: Runtime, clock: FakeClock) -> Checkpoint:
    """Real activity through the services, then a signed checkpoint of the chain head."""
    length = record_real_activity(runtime, clock)
    assert length >= 20, "the scenario must leave a chain long enough to tamper with its middle and tail"
    clock.advance(minutes=1)
    checkpoint = runtime.services.trail.checkpoint()
    assert (checkpoint.seq, checkpoint.head_hash) == chain_head(runtime)
    return checkpoint


def test_untouched_trail_with_a_checkpoint_verifies_clean(runtime: Runtime, sealed: Checkpoint) -> None:
    assert runtime.services.trail.verify() == []


@pytest.mark.req("AUD-06")
def test_an_entry_edited_as_owner_with_every_later_hash_recomputed_is_named_first(
    runtime: Runtime, owner_url: str, sealed: Checkpoint
) -> None:
    target = sealed.seq - 3
    with runtime.engine.connect() as conn:
        before = conn.execute(select(ENTRY.c.hash).where(ENTRY.c.seq > target).order_by(ENTRY.c.seq)).scalars().all()

    tampering.edit_and_rehash(owner_url, target, '{"forged": "value"}')

    with runtime.engine.connect() as conn:
        after = conn.execute(select(ENTRY.c.hash).where(ENTRY.c.seq > target).order_by(ENTRY.c.seq)).scalars().all()
    assert all(b != a for b, a in zip(before, after, strict=True)), "the forger rewrote every later hash"
    assert chain_head(runtime) == (sealed.seq, after[-1]), "and moved the head to match"
    findings = runtime.services.trail.verify()
    assert findings, "a rewritten chain must not verify"
    assert findings[0].seq == target
    assert "seal" in findings[0].problem
    # Later entries kept their own content and seals: only the edited entry and the contradicted checkpoint show.
    assert {f.seq for f in findings} == {target, sealed.seq}


@pytest.mark.req("AUD-06")
def test_an_entry_edited_as_owner_without_rehashing_is_named(
    runtime: Runtime, owner_url: str, sealed: Checkpoint
) -> None:
    target = 2
    tampering.edit_in_place(owner_url, target, "something else")

    findings = runtime.services.trail.verify()

    assert [f.seq for f in findings] == [target]


@pytest.mark.req("AUD-06")
@pytest.mark.parametrize(
    "column, value",
    [
        ("at", datetime(2020, 1, 1, tzinfo=UTC)),
        ("username", "someone-else"),
        ("reason", "a reason nobody gave"),
        ("context", '{"address": "10.9.9.9"}'),
        ("clock_anomaly", True),
        ("batch", "B-2026-0042"),
    ],
)
def test_any_stored_column_changed_as_owner_is_named(
    runtime: Runtime, owner_url: str, sealed: Checkpoint, column: str, value: object
) -> None:
    target = 12
    tampering.set_column(owner_url, target, **{column: value})

    findings = runtime.services.trail.verify()

    assert [f.seq for f in findings] == [target]


@pytest.mark.req("AUD-06")
def test_a_deleted_middle_entry_is_reported_at_its_sequence_number(
    runtime: Runtime, owner_url: str, sealed: Checkpoint
) -> None:
    target = sealed.seq // 2
    tampering.delete_entry(owner_url, target)

    findings = runtime.services.trail.verify()

    assert findings, "a gap in the chain must not verify"
    assert findings[0].seq == target
    assert f"entries {target}..{target} are missing" in findings[0].problem
    assert {f.seq for f in findings} == {target}


@pytest.mark.req("AUD-06")
def test_an_entry_inserted_in_the_middle_with_the_chain_renumbered_and_rehashed_is_reported_where_it_went_in(
    runtime: Runtime, owner_url: str, sealed: Checkpoint
) -> None:
    target = sealed.seq // 2
    tampering.insert_forged(owner_url, target, "approved by QA")
    assert chain_head(runtime)[0] == sealed.seq + 1

    findings = runtime.services.trail.verify()

    assert findings, "an inserted entry must not verify"
    assert findings[0].seq == target
    assert "seal" in findings[0].problem


@pytest.mark.req("AUD-06")
def test_two_swapped_entries_are_both_reported(runtime: Runtime, owner_url: str, sealed: Checkpoint) -> None:
    first, second = 3, 6
    tampering.swap_contents(owner_url, first, second)

    findings = runtime.services.trail.verify()

    assert findings, "a reordered chain must not verify"
    assert findings[0].seq == first
    assert {first, second} <= {f.seq for f in findings}
    assert all(f.seq in (first, first + 1, second, second + 1) for f in findings), findings


@pytest.mark.req("AUD-06")
def test_the_last_three_entries_deleted_with_the_head_set_back_are_reported_as_missing(
    runtime: Runtime, owner_url: str, sealed: Checkpoint
) -> None:
    removed = tampering.delete_tail(owner_url, 3)
    assert removed == [sealed.seq - 2, sealed.seq - 1, sealed.seq]
    assert chain_head(runtime)[0] == sealed.seq - 3, "the chain itself now looks complete"

    findings = runtime.services.trail.verify()

    assert len(findings) == 1, findings
    assert findings[0].seq == sealed.seq - 2
    assert f"entries {sealed.seq - 2}..{sealed.seq} are missing" in findings[0].problem


def test_tail_deletion_before_any_checkpoint_goes_unnoticed_which_is_why_checkpoints_are_taken(
    runtime: Runtime, owner_url: str, clock: FakeClock
) -> None:
    # Documents the limit the signed checkpoints exist for: without one, a clean tail cut leaves a valid chain.
    record_real_activity(runtime, clock)
    tampering.delete_tail(owner_url, 3)

    assert runtime.services.trail.verify() == []
