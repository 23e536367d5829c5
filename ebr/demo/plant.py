"""Seed the demo plant. Refused in production mode (ACC-05)."""

from __future__ import annotations

from dataclasses import dataclass

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import Conflict

DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105  # published on purpose: demo only, refused in production


class DemoRefused(Exception):
    """Demo data may never enter a production database."""


@dataclass(frozen=True)
class DemoUser:
    """One seeded person."""

    username: str
    full_name: str
    roles: frozenset[Role]


DEMO_USERS = (
    DemoUser("olivia", "Olivia Operator", frozenset({Role.OPERATOR})),
    DemoUser("sam", "Sam Supervisor", frozenset({Role.SUPERVISOR})),
    DemoUser("quinn", "Quinn QA", frozenset({Role.QA})),
    DemoUser("erin", "Erin Engineer", frozenset({Role.ENGINEER})),
    DemoUser("adam", "Adam Admin", frozenset({Role.ADMIN})),
)


def seed(rt: Runtime) -> list[str]:
    """Create the demo users with the published demo password, ready to log in; returns who was created."""
    if rt.settings.production:
        raise DemoRefused("The demo plant cannot be seeded in production mode.")
    rt.services.system.mark_demo_seeded()
    created = []
    for person in DEMO_USERS:
        try:
            rt.services.accounts.create_user(
                Actor.system(),
                person.username,
                person.full_name,
                person.roles,
                DEMO_PASSWORD,
                "demo plant seed",
                temporary=False,
            )
        except Conflict:
            continue
        created.append(person.username)
    approve_site_policy(rt)
    return created


def approve_site_policy(rt: Runtime) -> None:
    """Import the library's signature policy and have QA (quinn) approve it with a real signature."""
    from ebr.app.context import RequestInfo
    from ebr.app.signing import Credentials

    if rt.services.policy.effective() is not None:
        return
    stored = rt.services.policy.import_library(Actor.system())
    quinn = next(u for u in rt.services.accounts.list_users() if u.username == "quinn")
    who = Actor(quinn.id, quinn.username, quinn.full_name)
    token = rt.services.auth.login("quinn", DEMO_PASSWORD, RequestInfo("127.0.0.1", "demo seed")).token
    request = rt.services.signing.request(who, token, "signature_policy", str(stored.id), "approved")
    rt.services.signing.sign(
        who,
        token,
        request.challenge.id,
        request.challenge.content_hash,
        Credentials(DEMO_PASSWORD, "quinn", acknowledged=True),
    )
    rt.services.auth.logout(token, who, RequestInfo("127.0.0.1", "demo seed"))
