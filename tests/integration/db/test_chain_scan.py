"""The verifier's row path (plain rows, chunked) computes what the entry path does and finds what it finds (AUD-06)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.trail import TrailService
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import Finding, canonical_bytes, content_digest, verify_chain
from ebr.domain.chain_scan import row_canonical_bytes
from tests.app.execution_support import running_batch
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock
from tests.integration.db import tampering
from tests.integration.db.activity import REQUEST, change_setting


def _real_chain(runtime: Runtime, clock: FakeClock) -> int:
    """Start-up, a batch step signed, a signed setting change, a reason in several scripts; then a checkpoint."""
    runtime.services.system.record_startup("test")
    floor = running_batch(runtime)
    clock.advance(minutes=5)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    admin = make_user(runtime, Role.ADMIN, username="admin2")
    change_setting(runtime, admin, "session.idle_minutes", 10, "SOP-12: shorter idle timeout")
    clerk = make_user(runtime, Role.OPERATOR, username="clerk1")
    reason = "Übergabe an die Nachtschicht — équipe de nuit, 夜勤"
    runtime.services.accounts.set_roles(actor_of(admin), clerk.id, frozenset({Role.SUPERVISOR}), reason, REQUEST)
    clock.advance(minutes=1)
    return runtime.services.trail.checkpoint().seq


def _entry_path(runtime: Runtime) -> list[Finding]:
    """The verification as the entry path does it: domain entries one by one, then the checkpoints."""
    trail = runtime.services.trail
    uow_factory, checkpoints, sealer = trail._uow, trail._checkpoints, trail._sealer  # the service's own parts
    with uow_factory(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        return verify_chain(uow.audit.iter_all(), checkpoints.all(), sealer.verify)


def test_row_path_builds_the_same_canonical_bytes_as_the_entry_path_for_every_entry_of_a_real_chain(
    runtime: Runtime, clock: FakeClock
) -> None:
    length = _real_chain(runtime, clock)
    with runtime.services.trail._uow(AuditContext(Actor.system(), clock.now())) as uow:
        entries = list(uow.audit.iter_all())
        rows = [row for chunk in uow.audit.chain_rows(7) for row in chunk]
    assert len(entries) == len(rows) == length > 40
    assert any(e.draft.context for e in entries) and any("B-9001" in repr(e.draft) for e in entries)
    assert any(not e.draft.reason.isascii() for e in entries)
    for entry, row in zip(entries, rows, strict=True):
        assert row_canonical_bytes(row) == canonical_bytes(entry.seq, entry.draft, entry.clock_anomaly), entry.seq
        assert hashlib.sha256(row_canonical_bytes(row)).hexdigest() == content_digest(
            entry.seq, entry.draft, entry.clock_anomaly
        )


TAMPERINGS: dict[str, Callable[[str, int], object]] = {
    "edited, every later hash recomputed": lambda url, n: tampering.edit_and_rehash(url, n - 3, '{"forged": "x"}'),
    "edited in place": lambda url, n: tampering.edit_in_place(url, 2, "something else"),
    "batch column changed": lambda url, n: tampering.set_column(url, n // 2, batch="B-OTHER"),
    "middle entry deleted": lambda url, n: tampering.delete_entry(url, n // 2),
    "entry inserted, chain renumbered": lambda url, n: tampering.insert_forged(url, n // 2, "approved by QA"),
    "two entries swapped": lambda url, n: tampering.swap_contents(url, 3, 9),
    "tail cut": lambda url, n: tampering.delete_tail(url, 3),
}


@pytest.mark.req("AUD-06")
@pytest.mark.parametrize("chunk", [7, 5_000])
@pytest.mark.parametrize("tamper", list(TAMPERINGS), ids=list(TAMPERINGS))
def test_row_path_reports_exactly_what_the_entry_path_reports_for_each_tampering(
    runtime: Runtime, clock: FakeClock, owner_url: str, tamper: str, chunk: int
) -> None:
    length = _real_chain(runtime, clock)
    TAMPERINGS[tamper](owner_url, length)

    expected = _entry_path(runtime)
    trail = runtime.services.trail
    parts = trail._uow, runtime.services.clock, trail._sealer, trail._checkpoints, trail._pdf
    found = TrailService(*parts).verify(chunk=chunk)

    assert expected, "the tampering must be found"
    assert found == expected


def test_row_path_finds_nothing_on_an_untouched_chain_read_in_chunks_smaller_than_it(
    runtime: Runtime, clock: FakeClock
) -> None:
    _real_chain(runtime, clock)
    assert runtime.services.trail.verify(chunk=3) == [] == _entry_path(runtime)
