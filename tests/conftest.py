"""Fixtures: every database test runs on SQLite and, with EBR_TEST_PG_URL, again on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.migrate import upgrade
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from tests.fakes import FakeClock, RecordingNotifier

pytest_plugins = ["tests.requirements_plugin"]

PG_URL = os.environ.get("EBR_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("EBR_TEST_REQUIRE_PG") == "1"
APP_ROLE = "ebr_app"
LIBRARY = Path(__file__).resolve().parent.parent  # the repository's content folders are the demo plant's library


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating each time would cost seconds)."""
    path = tmp_path_factory.mktemp("template") / "ebr.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection folds the WAL into the file that is copied
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database; each test gets a copy."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("EBR_TEST_REQUIRE_PG=1 but EBR_TEST_PG_URL is not set: PostgreSQL tests would be skipped")
        pytest.skip("PostgreSQL run skipped: EBR_TEST_PG_URL is not set")
    name = f"ebr_tmpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    upgrade(owner, APP_ROLE)
    owner.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database; on PostgreSQL the app connects as the restricted role."""
    if request.param == "sqlite":
        target = tmp_path / "ebr.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"ebr_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL).set(database=name, username=APP_ROLE, password=None).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def owner_url(database_url: str) -> str:
    """The same database as the schema owner / superuser: what an attacker with database access holds."""
    if database_url.startswith("sqlite"):
        return database_url
    return make_url(PG_URL).set(database=make_url(database_url).database).render_as_string(hide_password=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def alerts() -> RecordingAlertSink:
    return RecordingAlertSink()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        instance_path=tmp_path / "instance",
        database_url=database_url,
        fast_password_hashing=True,
        secure_cookies=True,
        build_commit="abc123def456",
    )


@pytest.fixture
def runtime(
    settings: Settings, clock: FakeClock, alerts: RecordingAlertSink, notifier: RecordingNotifier
) -> Iterator[Runtime]:
    """The real application wired by bootstrap: real database, fake clock, recording alert sink and notifier."""
    rt = build(settings, clock=clock, alert_sink=alerts, notifier=notifier)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    from ebr.web.app import create_app

    flask_app = create_app(runtime=runtime)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # Plain HTTP: the Secure cookie is still sent by the test client, while Flask-WTF's strict Referer check
    # (HTTPS only) would need a Referer on every POST; tests/web/test_csrf.py covers the HTTPS case explicitly.
    return app.test_client()


@pytest.fixture
def plant() -> Iterator[SimulatedPlant]:
    """A simulated plant on a free loopback port whose values hold still, so each test knows what devices answer
    (the balance shows the quick check's target, so a clean batch completes without exceptions)."""
    with SimulatedPlant(moving=False, settle_s=0.0) as simulated:
        yield simulated
