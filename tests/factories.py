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


def session_token(rt: Runtime, user: User, password: str = PASSWORD) -> str:
    """A logged-in server-side session for the user (what the browser's cookie carries)."""
    from ebr.app.context import RequestInfo

    return rt.services.auth.login(user.username, password, RequestInfo("127.0.0.1", "test-terminal")).token


def sign(
    rt: Runtime,
    owner: User,
    token: str,
    object_type: str,
    object_id: str,
    meaning: str,
    password: str = PASSWORD,
    username: str | None = None,
    acknowledge: bool = True,
) -> object:
    """Open a challenge in the owner's session and sign it (user id given unless username is '')."""
    from ebr.app.signing import Credentials

    who = actor_of(owner)
    request = rt.services.signing.request(who, token, object_type, object_id, meaning)
    typed = owner.username if username is None else username
    return rt.services.signing.sign(
        who, token, request.challenge.id, request.challenge.content_hash, Credentials(password, typed, acknowledge)
    )


def effective_policy(rt: Runtime) -> User:
    """Import the library's signature policy and have a QA user approve it; returns that QA user."""
    qa = make_user(rt, Role.QA, full_name="Policy Approver")
    stored = rt.services.policy.import_text(actor_of(qa), POLICY_TEXT())
    sign(rt, qa, session_token(rt, qa), "signature_policy", str(stored.id), "approved")
    return qa


def POLICY_TEXT() -> str:  # noqa: N802  # reads like the constant it stands for
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "signatures" / "policy.toml").read_text(encoding="utf-8")
