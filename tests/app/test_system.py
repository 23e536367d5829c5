"""Version identity, start-up and upgrade entries, GMP settings changes (VAL-04, VAL-05)."""

from __future__ import annotations

import json
import threading

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter
from ebr.app.system import SystemService, Version
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, PermissionDenied
from tests.factories import actor_of, effective_policy, make_user, session_token, sign


@pytest.mark.req("VAL-04")
def test_an_upgrade_writes_one_upgraded_from_a_to_b_entry(runtime: Runtime) -> None:
    runtime.services.system.record_startup("web")
    assert runtime.services.system.record_startup("worker") is None  # same version: nothing new
    newer = SystemService(runtime.services.uow, runtime.services.clock, Version("0.2.0", "fedcba987654"))
    assert newer.record_startup("web") == "0.1.0+abc123def456"
    upgrades = runtime.services.trail.query(AuditFilter(action="system_upgrade"))
    assert len(upgrades) == 1
    entry = upgrades[0].draft
    assert (entry.old_value, entry.new_value) == ("0.1.0+abc123def456", "0.2.0+fedcba987654")
    assert entry.reason == "system upgraded from 0.1.0+abc123def456 to 0.2.0+fedcba987654"


@pytest.mark.req("VAL-05")
def test_changing_the_lockout_threshold_leaves_one_entry_with_old_new_and_reason(runtime: Runtime) -> None:
    effective_policy(runtime)
    admin = make_user(runtime, Role.ADMIN)
    baseline = runtime.services.settings.export()
    change = runtime.services.settings.request_change(
        actor_of(admin), "lockout.threshold", "3", "CAPA-118: tighter lockout"
    )
    assert runtime.services.settings.current()["lockout.threshold"] == 5  # nothing changes before the signature
    sign(runtime, admin, session_token(runtime, admin), "setting_change", str(change.id), "approved")
    updates = [e.draft for e in runtime.services.trail.query(AuditFilter(object_type="setting", action="update"))]
    assert [(d.object_id, d.field, d.old_value, d.new_value, d.reason, d.username) for d in updates] == [
        ("lockout.threshold", "value", "5", "3", "CAPA-118: tighter lockout", admin.username)
    ]
    assert runtime.services.settings.diff_against(baseline) == [("lockout.threshold", 5, 3)]
    assert json.loads(runtime.services.settings.export())["lockout.threshold"] == 3
    assert runtime.services.settings.current().lockout_policy.threshold == 3


@pytest.mark.req("VAL-05")
def test_a_settings_change_without_reason_or_out_of_range_changes_nothing(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    quinn = make_user(runtime, Role.QA)
    before = len(runtime.services.trail.query(AuditFilter(), None))
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", "3", "")
    with pytest.raises(InvalidInput, match="between"):
        runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", "0", "typo")
    with pytest.raises(PermissionDenied):
        runtime.services.settings.request_change(actor_of(quinn), "lockout.threshold", "3", "QA tries")
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert len(runtime.services.trail.query(AuditFilter(), None)) == before


def test_the_baseline_diff_refuses_something_that_is_not_an_export(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="not a configuration export"):
        runtime.services.settings.diff_against("{nope")


def test_first_start_records_the_initial_configuration(runtime: Runtime) -> None:
    runtime.services.system.record_startup("web")
    created = runtime.services.trail.query(AuditFilter(object_type="setting", action="create"))
    assert {e.draft.object_id for e in created} >= {"lockout.threshold", "session.idle_minutes"}
    assert Actor.system().username == created[0].draft.username


def test_a_process_starting_while_another_records_the_same_start_writes_nothing_and_does_not_fail(
    runtime: Runtime,
) -> None:
    """Web workers boot side by side on a fresh database: the one that loses the race must not crash its boot."""
    first = runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now()))
    outcome: list[object] = []
    with first as uow:
        assert uow.system.claim("version", None, str(runtime.services.system.version))
        other = threading.Thread(target=lambda: outcome.append(runtime.services.system.record_startup("web")))
        other.start()
        other.join(0.5)
        assert other.is_alive(), "the second start did not wait for the first one's transaction"
        uow.commit()
    other.join(30)
    assert outcome == [None]  # it found the version recorded: nothing more to write
    assert runtime.services.trail.query(AuditFilter(action="system_start")) == []
