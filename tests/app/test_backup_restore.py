"""Backup → restore into a fresh instance → verify → hash compare (REC-05): the archive holds the database with the
stored PDFs, the trust anchors, certificates and configuration, and no private key in clear text; a changed
archive or a used target is refused with nothing written."""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.models import BatchDocumentRow, BatchRow
from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime, build
from ebr.cli import main
from ebr.config import Settings
from tests.app.records_support import released_batch
from tests.conftest import APP_ROLE, PG_URL

PASSPHRASE = "correct horse battery staple"


def ebr(settings: Settings, *args: str, passphrase: str = PASSPHRASE) -> Result:
    """`ebr ARGS` in-process, with the environment an operator would set for this instance."""
    env = {
        "EBR_INSTANCE_PATH": str(settings.instance_path),
        "EBR_DATABASE_URL": settings.database_url,
        "EBR_ADMIN_DATABASE_URL": settings.admin_database_url,
        "EBR_ENV": "test",
        "EBR_FAST_HASHING": "1",
        "EBR_BACKUP_PASSPHRASE": passphrase,
    }
    return CliRunner(env=env, catch_exceptions=False).invoke(main, list(args))


@dataclass(frozen=True)
class Fingerprint:
    """What must survive a restore unchanged: every batch's record hash and every stored PDF's SHA-256."""

    record_hashes: dict[str, str]
    documents: dict[int, str]


def fingerprint(rt: Runtime) -> Fingerprint:
    with rt.engine.connect() as conn:
        batches = list(conn.execute(select(BatchRow.batch_id)).scalars())
        documents = {row.id: row.sha256 for row in conn.execute(select(BatchDocumentRow.id, BatchDocumentRow.sha256))}
    return Fingerprint({b: rt.services.records.record_hash(b) for b in batches}, documents)


@pytest.fixture
def fresh(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A new instance folder and a new, empty database of the same kind, as an operator would prepare them."""
    folder = tmp_path / "restored"
    if settings.database_url.startswith("sqlite"):
        yield Settings(env="test", instance_path=folder, database_url=f"sqlite:///{tmp_path / 'restored.sqlite3'}")
        return
    name = f"ebr_r_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner = make_url(PG_URL).set(database=name)
    app = owner.set(username=APP_ROLE, password=None)
    yield Settings(
        env="test",
        instance_path=folder,
        database_url=app.render_as_string(hide_password=False),
        admin_database_url=owner.render_as_string(hide_password=False),
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def backed_up(runtime: Runtime, settings: Settings, owner_url: str, plant: SimulatedPlant, tmp_path: Path) -> Path:
    """A released batch with signatures and its signed PDF, a signed audit checkpoint, then a backup."""
    released_batch(runtime, plant)
    source = settings.with_(admin_database_url=owner_url if owner_url != settings.database_url else "")
    assert ebr(source, "audit", "checkpoint").exit_code == 0
    out = tmp_path / "backup.zip"
    result = ebr(source, "backup", str(out))
    assert result.exit_code == 0, result.output
    return out


def _members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.req("REC-05")
def test_a_restore_into_a_fresh_instance_verifies_and_keeps_every_record_hash(
    runtime: Runtime, backed_up: Path, fresh: Settings
) -> None:
    before = fingerprint(runtime)
    assert before.record_hashes and before.documents

    restored = ebr(fresh, "restore", str(backed_up))
    assert restored.exit_code == 0, restored.output
    verified = ebr(fresh, "verify")

    assert verified.exit_code == 0, verified.output
    assert "audit trail: OK" in verified.stdout and "signatures: OK" in verified.stdout
    assert "documents: OK" in verified.stdout
    rt = build(fresh, alert_sink=RecordingAlertSink())
    try:
        assert fingerprint(rt) == before
        assert rt.services.settings.export().encode() == _members(backed_up)["settings.json"]
    finally:
        rt.engine.dispose()


@pytest.mark.req("REC-05")
def test_the_backup_holds_pdfs_trust_anchors_and_configuration_but_no_private_key_in_clear(
    settings: Settings, backed_up: Path
) -> None:
    members = _members(backed_up)

    assert {"manifest.json", "database.dump", "settings.json", "deployment.json"} <= set(members)
    assert members["instance/site-ca.pem"] == (settings.instance_path / "site-ca.pem").read_bytes()
    assert (
        members["instance/audit-checkpoints.jsonl"] == (settings.instance_path / "audit-checkpoints.jsonl").read_bytes()
    )
    sealed = {n for n, data in members.items() if b"PRIVATE KEY-----" in data}
    assert sealed == {"instance/site-ca.key.sealed", "instance/audit-seal.key.sealed"}
    assert all(b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in members[n] for n in sealed)
    assert b"(set, not in the backup)" in members["deployment.json"]
    assert settings.database_url.encode() not in members["deployment.json"]


@pytest.mark.req("REC-05")
def test_a_changed_archive_is_refused_and_nothing_is_written(backed_up: Path, fresh: Settings, tmp_path: Path) -> None:
    members = _members(backed_up)
    members["settings.json"] = members["settings.json"].replace(b"12", b"13", 1)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    result = ebr(fresh, "restore", str(tampered))

    assert result.exit_code == 1
    assert "settings.json does not match its SHA-256" in result.output and "Nothing was restored" in result.output
    assert not fresh.instance_path.exists()
    assert _database_is_empty(fresh)


@pytest.mark.req("REC-05")
def test_a_wrong_passphrase_or_a_used_target_is_refused_and_nothing_is_written(
    settings: Settings, backed_up: Path, fresh: Settings
) -> None:
    wrong = ebr(fresh, "restore", str(backed_up), passphrase="not the passphrase at all")
    assert wrong.exit_code == 1 and "does not decrypt" in wrong.output
    assert not fresh.instance_path.exists() and _database_is_empty(fresh)

    used = ebr(settings, "restore", str(backed_up))
    assert used.exit_code == 1 and "is not empty" in used.output


def _database_is_empty(settings: Settings) -> bool:
    from ebr.adapters.db.backup import is_empty

    return is_empty(settings.migration_db_url)


def test_without_a_passphrase_the_private_keys_are_left_out_and_named(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "backup.zip"
    runtime.services.trail.checkpoint()  # creates the seal key in the instance folder

    result = ebr(settings, "backup", str(out), passphrase="")

    assert result.exit_code == 0, result.output
    assert "private key audit-seal.key left out" in result.stderr
    members = _members(out)
    assert not any(b"PRIVATE KEY-----" in data for data in members.values())
    assert b"audit-seal.key" in members["manifest.json"] and members["database.dump"]
