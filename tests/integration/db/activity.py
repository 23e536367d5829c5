"""Real activity through the application's services, for tests that need a realistic audit trail."""

from __future__ import annotations

from ebr.app.context import RequestInfo
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from tests.factories import PASSWORD, actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock

REQUEST = RequestInfo(address="10.0.0.7", workstation="line-1-hmi", request_id="req-1")


def change_setting(rt: Runtime, admin: User, key: str, value: int, reason: str) -> None:
    """A GMP setting change as the application offers it: requested with a reason, applied by the admin's signature.

    Needs a signature policy in force (tests.factories.effective_policy).
    """
    change = rt.services.settings.request_change(actor_of(admin), key, value, reason, REQUEST)
    sign(rt, admin, session_token(rt, admin), "setting_change", str(change.id), "approved")


def record_real_activity(rt: Runtime, clock: FakeClock) -> int:
    """Start-up, users created, logins, a signed setting change and a role change; returns the chain length."""
    rt.services.system.record_startup("test")
    effective_policy(rt)
    admin = make_user(rt, Role.ADMIN, username="admin1")
    operator = make_user(rt, Role.OPERATOR, username="oper1")
    clock.advance(minutes=5)
    rt.services.auth.login(operator.username, PASSWORD, REQUEST)
    clock.advance(minutes=5)
    change_setting(rt, admin, "session.idle_minutes", 10, "SOP-12: shorter idle timeout")
    rt.services.accounts.set_roles(
        actor_of(admin), operator.id, frozenset({Role.SUPERVISOR}), "promoted to shift supervisor", REQUEST
    )
    assert rt.services.settings.current()["session.idle_minutes"] == 10
    return len(rt.services.trail.query(AuditFilter(), None))
