"""The load bench's set-up: a fresh PostgreSQL database, the demo plant, the operators, their released orders.

Seeding goes through the application services in this process (not the web path): it is the arrangement, not what
is measured.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

from ebr.app.context import Actor
from ebr.bootstrap import Runtime, build
from ebr.config import from_env
from ebr.demo.plant import DEMO_PASSWORD, seed
from ebr.domain.accounts import Role
from ebr.domain.errors import Conflict
from ebr.domain.orders import ProductionOrder

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PASSWORD = DEMO_PASSWORD
PRODUCT = "QC-SAMPLE"  # the demo's quick check: identify, weigh (captured, verified), label, confirm


@dataclass(frozen=True)
class Plan:
    """Who runs what: each operator's released orders (pk, batch id) and the supervisor who verifies for them."""

    operators: list[str]
    supervisors: list[str]
    orders: dict[str, list[tuple[int, str]]]

    def supervisor_of(self, index: int) -> str:
        return self.supervisors[index % len(self.supervisors)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def recreate_database(server: str, name: str) -> str:
    """Drop and create the database on the server (a libpq URL of any database there); its SQLAlchemy URL."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = server.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def environment(database_url: str, instance: Path, port: int, modbus_port: int) -> dict[str, str]:
    """The EBR_* settings every process of the run shares (same database, same instance keys)."""
    env = dict(os.environ)
    env.update(
        EBR_ENV="development",
        EBR_DATABASE_URL=database_url,
        EBR_INSTANCE_PATH=str(instance),
        EBR_LIBRARY_DIR=str(REPO),
        EBR_FAST_HASHING="1",  # the test hashing profile: see bench/README.md for why and what production adds
        EBR_SECURE_COOKIES="0",  # plain HTTP on loopback
        EBR_TRUSTED_PROXIES="1",  # each simulated terminal names its own address (X-Forwarded-For)
        EBR_PORT=str(port),
        EBR_DEMO_MODBUS_PORT=str(modbus_port),
        EBR_WORKER_INTERVAL="5",
    )
    return env


def upgrade(env: dict[str, str]) -> None:
    """`ebr db upgrade`, as a deployment runs it."""
    subprocess.run([str(VENV_BIN / "ebr"), "db", "upgrade"], env=env, check=True, cwd=REPO)  # noqa: S603


def _user(rt: Runtime, username: str, full_name: str, role: Role) -> None:
    with contextlib.suppress(Conflict):  # seeded by an earlier run into the same database
        rt.services.accounts.create_user(
            Actor.system(), username, full_name, frozenset({role}), PASSWORD, "load bench", temporary=False
        )


def _person(rt: Runtime, username: str) -> Actor:
    user = next(u for u in rt.services.accounts.list_users() if u.username == username)
    return Actor(user.id, user.username, user.full_name)


def seed_plan(env: dict[str, str], operators: int, batches_per_operator: int) -> Plan:
    """The demo plant, the bench's people, and each operator's released quick-check orders."""
    rt = build(from_env(env))
    try:
        seed(rt)
        names = [f"op{n:03d}" for n in range(1, operators + 1)]
        supervisors = [f"sup{n:02d}" for n in range(1, max(1, operators // 5) + 1)]
        for name in names:
            _user(rt, name, f"Operator {name}", Role.OPERATOR)
        for name in supervisors:
            _user(rt, name, f"Supervisor {name}", Role.SUPERVISOR)
        sam = _person(rt, "sam")
        orders: dict[str, list[tuple[int, str]]] = {name: [] for name in names}
        for k in range(batches_per_operator):
            for name in names:
                number = f"L{name[2:]}-{k + 1:03d}"
                order = ProductionOrder(f"PO-{number}", PRODUCT, Decimal("1"), "kg", f"B-{number}")
                stored = rt.services.orders.create(sam, order)
                rt.services.orders.release(sam, stored.id)
                orders[name].append((stored.id, order.batch_id))
        return Plan(names, supervisors, orders)
    finally:
        rt.engine.dispose()
