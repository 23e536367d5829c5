"""No password hashing inside a database transaction: a slow hash must never hold a lock."""

from __future__ import annotations

import pytest

from ebr.app.context import RequestInfo
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import PASSWORD, actor_of, make_user


class HashSpy:
    """Wraps the real hasher and records whether a database connection was checked out at each call."""

    def __init__(self, runtime: Runtime) -> None:
        self._real = runtime.services.hasher
        self._pool = runtime.engine.pool
        self.calls_inside_transaction = 0
        self.calls = 0

    @property
    def production_grade(self) -> bool:
        return self._real.production_grade

    def _observe(self) -> None:
        self.calls += 1
        if self._pool.checkedout() > 0:  # type: ignore[attr-defined]  # QueuePool and SingletonThreadPool both count
            self.calls_inside_transaction += 1

    def hash(self, password: str) -> str:
        self._observe()
        return self._real.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        self._observe()
        return self._real.verify(stored_hash, password)


@pytest.fixture
def spy(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> HashSpy:
    spy = HashSpy(runtime)
    for service in (runtime.services.auth, runtime.services.accounts):
        monkeypatch.setattr(service, "_hasher", spy)
    return spy


def test_login_create_reset_and_change_hash_outside_any_transaction(runtime: Runtime, spy: HashSpy) -> None:
    admin = make_user(runtime, Role.ADMIN)
    olivia = make_user(runtime, Role.OPERATOR)
    token = runtime.services.auth.login(olivia.username, PASSWORD, RequestInfo()).token
    runtime.services.auth.change_password(actor_of(olivia), PASSWORD, "Another-Secret-5", token, RequestInfo())
    runtime.services.accounts.reset_password(actor_of(admin), olivia.id, "forgotten")
    assert spy.calls >= 6
    assert spy.calls_inside_transaction == 0


def test_the_spy_does_see_a_hash_made_inside_a_transaction(runtime: Runtime, spy: HashSpy) -> None:
    from ebr.app.context import Actor, AuditContext

    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        uow.users.list()
        spy.hash("inside")
    assert spy.calls_inside_transaction == 1
