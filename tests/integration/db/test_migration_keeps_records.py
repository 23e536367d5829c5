"""A schema migration changes no GMP record in value or meaning (VAL-07; Annex 11 §4.8)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ebr.adapters.db.engine import make_engine
from ebr.adapters.db.migrate import current_revision, upgrade
from ebr.bootstrap import build
from ebr.config import Settings
from ebr.domain.accounts import Role
from tests.conftest import APP_ROLE, LIBRARY, PG_URL, REQUIRE_PG
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock

# The tables that existed at revision 0002 and hold records.
RECORD_TABLES = (
    "user_account",
    "audit_entry",
    "gmp_setting",
    "setting_change",
    "signature",
    "signing_key",
    "signature_policy",
    "signature_acknowledgement",
    "badge",
    "api_client",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(owner URL, application URL) of an empty database; the test migrates it itself."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        yield url, url
        return
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("EBR_TEST_REQUIRE_PG=1 but EBR_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL run skipped: EBR_TEST_PG_URL is not set")
    name = f"ebr_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner = make_url(PG_URL).set(database=name)
    yield (
        owner.render_as_string(hide_password=False),
        owner.set(username=APP_ROLE, password=None).render_as_string(hide_password=False),
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def record_hashes(url: str) -> dict[str, list[str]]:
    """A canonical hash of every row of every record table, in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in RECORD_TABLES:
                rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).mappings().all()
                out[table] = [
                    hashlib.sha256(json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True).encode()).hexdigest()
                    for row in rows
                ]
            return out
    finally:
        engine.dispose()


@pytest.mark.req("VAL-07")
def test_migrating_to_the_newest_schema_keeps_every_record_hash_and_a_clean_verify(
    old_database: tuple[str, str], tmp_path: Path
) -> None:
    owner_url, app_url = old_database
    owner = make_engine(owner_url)
    upgrade(owner, APP_ROLE, "0002")  # the schema as an earlier release left it
    assert current_revision(owner) == "0002"
    settings = Settings(
        env="test",
        instance_path=tmp_path / "instance",
        database_url=app_url,
        fast_password_hashing=True,
        build_commit="old",
        library_dir=LIBRARY,
    )
    clock = FakeClock()
    rt = build(settings, clock=clock)
    try:
        effective_policy(rt)
        admin = make_user(rt, Role.ADMIN)
        change = rt.services.settings.request_change(actor_of(admin), "lockout.threshold", "4", "SOP-12")
        sign(rt, admin, session_token(rt, admin), "setting_change", str(change.id), "approved")
        rt.services.trail.checkpoint()
        assert rt.services.trail.verify() == [] and rt.services.signing.verify() == []
        before = record_hashes(owner_url)
    finally:
        rt.engine.dispose()
    upgrade(owner, APP_ROLE)  # to the newest revision
    owner.dispose()
    assert record_hashes(owner_url) == before
    newer = build(settings.with_(build_commit="new"), clock=clock)
    try:
        assert newer.services.trail.verify() == []
        assert newer.services.signing.verify() == []
        assert newer.services.settings.current()["lockout.threshold"] == 4
    finally:
        newer.engine.dispose()
