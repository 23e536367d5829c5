from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import make_user


def test_runtime_fixture_creates_users_on_each_backend(runtime: Runtime) -> None:
    user = make_user(runtime, Role.QA)
    assert runtime.services.accounts.get(user.id).username == user.username
