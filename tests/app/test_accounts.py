"""Account administration use cases against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ebr.app.context import Actor
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied
from tests.factories import actor_of, make_user
from tests.fakes import FakeClock


@pytest.mark.req("ACC-04")
def test_user_ids_are_never_reused_even_after_deactivation(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    jdoe = make_user(runtime, Role.OPERATOR, username="jdoe")
    runtime.services.accounts.set_active(actor_of(admin), jdoe.id, False, "left the company")
    with pytest.raises(Conflict, match="never reused"):
        make_user(runtime, Role.OPERATOR, username="JDoe")
    assert [u.username for u in runtime.services.accounts.list_users()].count("jdoe") == 1


@pytest.mark.req("ACC-03")
def test_granting_admin_and_qa_to_one_account_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    quinn = make_user(runtime, Role.QA)
    with pytest.raises(InvalidInput, match="Segregation"):
        runtime.services.accounts.set_roles(actor_of(admin), quinn.id, frozenset({Role.QA, Role.ADMIN}), "more")
    assert runtime.services.accounts.get(quinn.id).roles == frozenset({Role.QA})


def test_only_user_managers_administer_accounts(runtime: Runtime) -> None:
    quinn = make_user(runtime, Role.QA)
    olivia = make_user(runtime, Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        runtime.services.accounts.set_active(actor_of(quinn), olivia.id, False, "not my job")
    assert runtime.services.accounts.get(olivia.id).active


def test_nobody_changes_their_own_roles(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        runtime.services.accounts.set_roles(actor_of(admin), admin.id, frozenset({Role.ADMIN}), "self-service")


@pytest.mark.req("ACC-06")
@pytest.mark.parametrize("action", ["grant", "disable", "enable", "unlock", "reset"])
def test_each_access_change_writes_one_complete_audit_entry(runtime: Runtime, action: str) -> None:
    admin = make_user(runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    accounts, who = runtime.services.accounts, actor_of(admin)
    if action == "enable":
        accounts.set_active(who, target.id, False, "leave")
    before = len(runtime.services.trail.query(AuditFilter(), None))
    reason = f"{action} because of ticket 42"
    {
        "grant": lambda: accounts.set_roles(who, target.id, frozenset({Role.OPERATOR, Role.SUPERVISOR}), reason),
        "disable": lambda: accounts.set_active(who, target.id, False, reason),
        "enable": lambda: accounts.set_active(who, target.id, True, reason),
        "unlock": lambda: accounts.unlock(who, target.id, reason),
        "reset": lambda: accounts.reset_password(who, target.id, reason),
    }[action]()
    entries = runtime.services.trail.query(AuditFilter(), None)[before:]
    assert len(entries) == 1
    entry = entries[0].draft
    assert (entry.username, entry.user_name, entry.reason) == (admin.username, admin.full_name, reason)
    assert entry.object_type == "user" and entry.object_id == str(target.id)
    assert entry.at == runtime.services.clock.now()


def test_a_change_after_the_original_entry_needs_a_reason(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    target = make_user(runtime, Role.OPERATOR)
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.accounts.set_active(actor_of(admin), target.id, False, "  ")
    assert runtime.services.accounts.get(target.id).active


@pytest.mark.req("PWD-04")
def test_disabling_a_user_ends_their_sessions_at_once(runtime: Runtime) -> None:
    from ebr.app.context import RequestInfo
    from tests.factories import PASSWORD

    admin = make_user(runtime, Role.ADMIN)
    olivia = make_user(runtime, Role.OPERATOR)
    session = runtime.services.auth.login(olivia.username, PASSWORD, RequestInfo())
    assert runtime.services.sessions.load(session.token, RequestInfo()) is not None
    runtime.services.accounts.set_active(actor_of(admin), olivia.id, False, "badge lost")
    assert runtime.services.sessions.load(session.token, RequestInfo()) is None


@pytest.mark.req("PWD-03")
def test_access_review_lists_roles_status_and_grantor_and_flags_dormant_accounts(
    runtime: Runtime, clock: FakeClock
) -> None:
    from ebr.app.context import RequestInfo
    from tests.factories import PASSWORD

    admin = make_user(runtime, Role.ADMIN, username="adminrev")
    dormant = make_user(runtime, Role.OPERATOR, username="dormant1")
    active = make_user(runtime, Role.QA, username="active1")
    runtime.services.accounts.set_roles(actor_of(admin), dormant.id, frozenset({Role.SUPERVISOR}), "promotion")
    clock.advance(days=100)
    runtime.services.auth.login(active.username, PASSWORD, RequestInfo())
    rows = {r.user.username: r for r in runtime.services.accounts.access_review(dormant_days=90)}
    assert rows["dormant1"].dormant and not rows["active1"].dormant
    assert rows["dormant1"].granted_by == "adminrev"
    assert rows["dormant1"].user.roles == frozenset({Role.SUPERVISOR})
    assert rows["active1"].user.last_login_at == clock.now()
    assert rows["active1"].user.last_login_at - rows["active1"].user.created_at >= timedelta(days=100)


@pytest.mark.req("ACC-05")
def test_a_new_installation_gets_one_bootstrap_admin_who_must_change_the_password(runtime: Runtime) -> None:
    temporary = runtime.services.accounts.ensure_bootstrap_admin()
    assert temporary
    users = runtime.services.accounts.list_users()
    assert [(u.username, u.roles, u.must_change_password) for u in users] == [("admin", frozenset({Role.ADMIN}), True)]
    assert runtime.services.accounts.ensure_bootstrap_admin() is None


def test_system_actor_is_recorded_for_command_line_administration(runtime: Runtime) -> None:
    user = make_user(runtime, Role.OPERATOR)
    created = runtime.services.trail.query(AuditFilter(object_type="user", object_id=str(user.id)))
    assert created[0].draft.username == Actor.system().username
