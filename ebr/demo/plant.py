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
    return created
