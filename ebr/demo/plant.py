"""Seed the demo plant. Refused in production mode (ACC-05)."""

from __future__ import annotations

from dataclasses import dataclass

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, RequestInfo
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime
from ebr.demo.equipment import seed_equipment
from ebr.demo.materials import seed_master_data
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
    release_demo_procedures(rt)
    seed_master_data(rt)
    seed_equipment(rt, _sign, _person(rt, "sam"))
    return created


def simulated_plant(rt: Runtime) -> SimulatedPlant:
    """The demo plant's instruments on the loopback port the seeded equipment points at; a refusal names the port."""
    plant = SimulatedPlant("127.0.0.1", rt.settings.demo_modbus_port)
    try:
        plant.start()
    except RuntimeError as exc:
        raise DemoRefused(f"{exc} (set EBR_DEMO_MODBUS_PORT to a free port)") from None
    plant.place(gross="1.000", tare="0")  # the quick check's sample is on the scale, so its weighing captures at once
    return plant


DEMO_PRODUCTS = {"granulation": "PARA-500", "quick_check": "QC-SAMPLE"}
DEMO_TERMINAL = RequestInfo("127.0.0.1", "demo seed")


def _person(rt: Runtime, username: str) -> Actor:
    user = next(u for u in rt.services.accounts.list_users() if u.username == username)
    return Actor(user.id, user.username, user.full_name)


def _signer(rt: Runtime, username: str) -> tuple[Actor, str]:
    token = rt.services.auth.login(username, DEMO_PASSWORD, DEMO_TERMINAL).token
    return _person(rt, username), token


def _sign(rt: Runtime, username: str, object_type: str, object_id: str, meaning: str) -> None:
    """A real signature by a demo user: login, challenge, password, logout."""
    who, token = _signer(rt, username)
    request = rt.services.signing.request(who, token, object_type, object_id, meaning)
    rt.services.signing.sign(
        who,
        token,
        request.challenge.id,
        request.challenge.content_hash,
        Credentials(DEMO_PASSWORD, username, acknowledged=True),
    )
    rt.services.auth.logout(token, who, DEMO_TERMINAL)


def approve_site_policy(rt: Runtime) -> None:
    """Import the library's signature policy and have QA (quinn) approve it with a real signature."""
    if rt.services.policy.effective() is not None:
        return
    stored = rt.services.policy.import_library(Actor.system())
    _sign(rt, "quinn", "signature_policy", str(stored.id), "approved")


def release_demo_procedures(rt: Runtime) -> None:
    """Erin authors, Quinn approves, and each demo procedure becomes effective for its product."""
    if rt.services.procedures.product_mapping():
        return
    erin, _ = _signer(rt, "erin")
    quinn, _ = _signer(rt, "quinn")
    for procedure_id, product in DEMO_PRODUCTS.items():
        version = rt.services.procedures.import_from_library(erin, procedure_id)
        _sign(rt, "erin", "procedure_version", str(version.id), "authored")
        _sign(rt, "quinn", "procedure_version", str(version.id), "approved")
        rt.services.procedures.make_effective(
            quinn, version.id, rt.services.clock.now(), [product], "demo plant: first effective version"
        )
