"""Plain builder functions for tests (no factory framework)."""

from __future__ import annotations

import re
import uuid

from flask.testing import FlaskClient

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User

PASSWORD = "Correct-Horse-9"  # satisfies the default policy


def unique_username(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_user(
    rt: Runtime,
    *roles: Role,
    username: str | None = None,
    password: str = PASSWORD,
    temporary: bool = False,
    full_name: str | None = None,
) -> User:
    """A user created as the system, ready to log in unless temporary."""
    name = username or unique_username()
    return rt.services.accounts.create_user(
        Actor.system(),
        name,
        full_name or f"Test {name.title()}",
        frozenset(roles or (Role.OPERATOR,)),
        password,
        "test fixture",
        temporary=temporary,
    )


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.full_name)


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the session, read from a form page like a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> int:
    """Log in through the form; returns the status code."""
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    return response.status_code
