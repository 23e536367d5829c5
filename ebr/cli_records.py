"""`ebr archive`, `ebr backup`, `ebr restore`: the records leave the running system and come back (REC-05, REC-06)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ebr.app.backup import VerifiedBackup
from ebr.app.context import Actor
from ebr.bootstrap import Runtime, build
from ebr.config import ConfigError, Settings, from_env
from ebr.domain.errors import DomainError

PASSPHRASE_ENV = "EBR_BACKUP_PASSPHRASE"  # noqa: S105  # the name of the variable, not a secret


def _settings() -> Settings:
    try:
        return from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _runtime(settings: Settings) -> Runtime:
    try:
        rt = build(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.get_current_context().call_on_close(rt.engine.dispose)
    return rt


def _site_ca(settings: Settings) -> str:
    from ebr.adapters.pki.keys import SitePki

    return SitePki(settings.instance_path).ca_certificate_pem()


@click.command()
@click.argument("batch_id")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--reason", default="archive package", show_default=True, help="Why the package is made (audited).")
def archive(batch_id: str, out: Path, reason: str) -> None:
    """Write the archive package (zip) of a released or rejected batch to OUT."""
    from ebr.app.archive import ArchiveService

    settings = _settings()
    rt = _runtime(settings)
    if out.exists():
        raise click.ClickException(f"{out} exists already: an archive package is never overwritten.")
    try:
        package = ArchiveService(rt.services, _site_ca(settings)).package(Actor.system(), batch_id, reason)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_bytes(package.content)
    click.echo(f"archived {batch_id}: {out} sha256 {package.sha256}; keep until {package.retention_until}")


def passphrase() -> str:
    """The passphrase that encrypts the instance's private keys in a backup; empty when not set."""
    return os.environ.get(PASSPHRASE_ENV, "")


# Deployment settings that may carry credentials: a backup says only whether they were set.
SECRET_SETTINGS = frozenset(
    {"secret_key", "database_url", "admin_database_url", "alert_webhook_url", "notify_webhook_url", "erp_url"}
)


def _deployment(settings: Settings) -> bytes:
    values = {
        name: ("(set, not in the backup)" if value else "") if name in SECRET_SETTINGS else str(value)
        for name, value in sorted(vars(settings).items())
    }
    return json.dumps(values, indent=2).encode() + b"\n"


def _database_files(settings: Settings) -> set[Path]:
    """The SQLite database and its journal files when they live in the instance folder (they go as the dump)."""
    if settings.db_url.startswith("sqlite"):
        main_file = Path(settings.db_url.split("///", 1)[1]).resolve()
        return {main_file.with_name(main_file.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")}
    return set()


def _instance_members(settings: Settings, secret: str) -> tuple[dict[str, bytes], list[str]]:
    """Every file of the instance folder (private keys sealed, or left out without a passphrase); the left-out."""
    from ebr.adapters.sealing import escrow
    from ebr.app.backup import INSTANCE, SEALED_SUFFIX

    members: dict[str, bytes] = {}
    excluded: list[str] = []
    skip = _database_files(settings)
    for path in sorted(p for p in settings.instance_path.rglob("*") if p.is_file() and p.resolve() not in skip):
        name = path.relative_to(settings.instance_path).as_posix()
        content = path.read_bytes()
        if not escrow.is_private_key(content):
            members[INSTANCE + name] = content
        elif secret:
            members[INSTANCE + name + SEALED_SUFFIX] = escrow.seal(content, secret)
        else:
            excluded.append(name)
    return members, excluded


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    """Write a backup of this instance to OUT: database, stored PDFs, trust anchors, certificates, configuration.

    Private keys go only encrypted under EBR_BACKUP_PASSPHRASE; without it they are left out (restore them from
    their own escrow)."""
    import tempfile

    import ebr
    from ebr.adapters.db import backup as database
    from ebr.adapters.sealing.escrow import EscrowRefused
    from ebr.app.backup import DATABASE, SETTINGS, write_backup

    settings = _settings()
    rt = _runtime(settings)
    if out.exists():
        raise click.ClickException(f"{out} exists already: a backup is never overwritten.")
    try:
        instance, excluded = _instance_members(settings, passphrase())
    except EscrowRefused as exc:
        raise click.ClickException(str(exc)) from None
    with tempfile.TemporaryDirectory() as tmp:
        dumped = Path(tmp) / DATABASE
        form = database.dump(settings.migration_db_url, dumped)
        members: dict[str, bytes | Path] = {DATABASE: dumped, SETTINGS: rt.services.settings.export().encode()}
        members.update(instance)
        members["deployment.json"] = _deployment(settings)
        details = {
            "version": ebr.__version__,
            "database_format": form,
            "created_at": rt.services.clock.now().isoformat(),
            "private_keys_left_out": excluded,
        }
        digest = write_backup(out, members, details)
    click.echo(f"backup {out}: {len(members)} members, manifest sha256 {digest}")
    for name in excluded:
        click.echo(f"private key {name} left out (no {PASSPHRASE_ENV}): restore it from its escrow", err=True)


def _restored_files(verified: VerifiedBackup, secret: str) -> dict[str, bytes]:
    """The instance folder's files by name, private keys decrypted: all read and checked before anything is written."""
    from ebr.adapters.sealing import escrow
    from ebr.app.backup import INSTANCE, SEALED_SUFFIX

    files: dict[str, bytes] = {}
    for member in verified.members:
        if not member.startswith(INSTANCE):
            continue
        name = member.removeprefix(INSTANCE)
        content = verified.read(member)
        if name.endswith(SEALED_SUFFIX):
            files[name.removesuffix(SEALED_SUFFIX)] = escrow.unseal(content, secret)
        else:
            files[name] = content
    return files


def _refuse_a_used_target(settings: Settings) -> None:
    from ebr.adapters.db.backup import is_empty

    instance = settings.instance_path
    if instance.exists() and any(p.is_file() for p in instance.rglob("*")):
        raise click.ClickException(f"The instance folder {instance} is not empty: restore only into a new instance.")
    if not is_empty(settings.migration_db_url):
        raise click.ClickException("The target database is not empty: restore only into a new, empty database.")


def _write_instance(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in sorted(files.items()):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        # Private keys and everything beside them stay readable by the service account only.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)


@click.command()
@click.argument("archive_path", metavar="ARCHIVE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(archive_path: Path) -> None:
    """Restore a backup into this new, empty instance; a changed or incomplete archive is refused, nothing written."""
    import tempfile

    from ebr.adapters.db import backup as database
    from ebr.adapters.sealing.escrow import EscrowRefused
    from ebr.app.backup import DATABASE, BackupRefused, verify_backup

    settings = _settings()
    try:
        verified = verify_backup(archive_path)
        files = _restored_files(verified, passphrase())
    except (BackupRefused, EscrowRefused) as exc:
        raise click.ClickException(f"{exc} Nothing was restored.") from None
    _refuse_a_used_target(settings)
    form = str(verified.manifest["database_format"])
    if form != database.backup_format(settings.migration_db_url):
        raise click.ClickException(
            f"This backup holds a {form} database; the target is another kind. Nothing was restored."
        )
    with tempfile.TemporaryDirectory() as tmp:
        dumped = Path(tmp) / DATABASE
        verified.extract(DATABASE, dumped)
        database.restore(settings.migration_db_url, dumped, form)
    _write_instance(settings.instance_path, files)
    click.echo(f"restored {len(files)} instance files and the database; now run `ebr verify`")
