"""Registered terminals (DEV-05): a one-time token whose hash alone is stored; names are unique and never reused."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from ebr.adapters.db.audit_guard import REDACTED
from ebr.adapters.db.models import TerminalRow
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.app.masterdata_support import trail
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock


def test_a_registered_terminal_resolves_by_its_token_and_only_the_hash_is_stored(
    runtime: Runtime, clock: FakeClock
) -> None:
    admin = make_user(runtime, Role.ADMIN)
    token = runtime.services.terminals.register(actor_of(admin), " Kiosk-GR-1 ", "Granulation room 1", "new kiosk")
    assert runtime.services.terminals.resolve(token) == "Kiosk-GR-1"
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(TerminalRow.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    [terminal] = runtime.services.terminals.list()
    assert (terminal.name, terminal.location, terminal.registered_by, terminal.registered_at, terminal.active) == (
        "Kiosk-GR-1",
        "Granulation room 1",
        admin.id,
        clock.now(),
        True,
    )
    [entry] = trail(runtime, "terminal", str(terminal.id))
    assert (entry.draft.action, entry.draft.username, entry.draft.reason) == ("create", admin.username, "new kiosk")
    created = json.loads(entry.draft.new_value or "{}")
    assert created["token_hash"] == REDACTED
    assert token not in (entry.draft.new_value or "")


def test_an_unknown_or_overlong_token_resolves_to_nothing(runtime: Runtime) -> None:
    runtime.services.terminals.register(actor_of(make_user(runtime, Role.ADMIN)), "Kiosk-1", "", "new kiosk")
    assert runtime.services.terminals.resolve("ebrt_not-a-token") is None
    assert runtime.services.terminals.resolve("") is None
    assert runtime.services.terminals.resolve("x" * 10_000) is None


def test_a_terminal_name_is_never_reused_whatever_its_case(runtime: Runtime) -> None:
    admin = actor_of(make_user(runtime, Role.ADMIN))
    runtime.services.terminals.register(admin, "Kiosk-1", "", "new kiosk")
    before = trail(runtime, "terminal")
    for name in ("Kiosk-1", "kiosk-1 "):
        with pytest.raises(Conflict, match="never reused"):
            runtime.services.terminals.register(admin, name, "", "second kiosk")
    assert [t.name for t in runtime.services.terminals.list()] == ["Kiosk-1"]
    assert trail(runtime, "terminal") == before


@pytest.mark.parametrize(
    ("name", "location", "reason", "problem"),
    [
        ("  ", "", "new kiosk", "name is required"),
        ("K" * 65, "", "new kiosk", "name is required"),
        ("Kiosk\t1", "", "new kiosk", "printable"),
        ("Kiosk-1", "L" * 201, "new kiosk", "location"),
        ("Kiosk-1", "", "", "reason"),
    ],
)
def test_a_bad_registration_is_refused_and_nothing_is_stored(
    runtime: Runtime, name: str, location: str, reason: str, problem: str
) -> None:
    admin = actor_of(make_user(runtime, Role.ADMIN))
    with pytest.raises(InvalidInput, match=problem):
        runtime.services.terminals.register(admin, name, location, reason)
    assert runtime.services.terminals.list() == []
    assert trail(runtime, "terminal") == []


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.QA, Role.OPERATOR])
def test_only_the_administrator_registers_terminals(runtime: Runtime, role: Role) -> None:
    with pytest.raises(PermissionDenied, match="terminal.manage"):
        runtime.services.terminals.register(actor_of(make_user(runtime, role)), "Kiosk-1", "", "new kiosk")
    assert runtime.services.terminals.list() == []


def test_a_deactivated_terminal_is_no_longer_trusted_and_the_change_is_audited(
    runtime: Runtime, clock: FakeClock
) -> None:
    admin = actor_of(make_user(runtime, Role.ADMIN))
    token = runtime.services.terminals.register(admin, "Kiosk-1", "", "new kiosk")
    [terminal] = runtime.services.terminals.list()
    clock.advance(hours=1)
    runtime.services.terminals.deactivate(admin, terminal.id, "screen broken, replaced")
    assert runtime.services.terminals.resolve(token) is None
    updates = [e.draft for e in trail(runtime, "terminal", str(terminal.id)) if e.draft.action == "update"]
    assert [(d.field, d.old_value, d.new_value, d.reason, d.at) for d in updates] == [
        ("active", "true", "false", "screen broken, replaced", clock.now())
    ]
    with pytest.raises(Conflict, match="already deactivated"):
        runtime.services.terminals.deactivate(admin, terminal.id, "again")
    with pytest.raises(NotFound):
        runtime.services.terminals.deactivate(admin, terminal.id + 1, "no such terminal")
