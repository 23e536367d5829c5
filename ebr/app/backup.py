"""The backup archive (REC-05): a zip of named members plus a manifest holding the SHA-256 of each one.

A restore reads nothing from an archive until the whole manifest checks out: a missing, extra or changed member,
or a manifest that is not one, refuses the archive as a whole, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
DATABASE = "database.dump"
SETTINGS = "settings.json"
INSTANCE = "instance/"  # files of the instance folder, by their name there
SEALED_SUFFIX = ".sealed"  # a private key, encrypted under the backup passphrase
FORMAT_VERSION = 1
CHUNK = 1 << 20

Member = bytes | Path


class BackupRefused(Exception):
    """The archive is not a complete, unchanged backup; nothing was restored from it."""


@dataclass(frozen=True)
class VerifiedBackup:
    """An archive whose every member matched the manifest when it was opened."""

    path: Path
    manifest: dict[str, object]

    @property
    def members(self) -> list[str]:
        """Every member except the manifest, sorted."""
        listed = self.manifest["members"]
        assert isinstance(listed, dict)
        return sorted(listed)

    def read(self, name: str) -> bytes:
        """One member's bytes, checked against the manifest again as they are read."""
        with zipfile.ZipFile(self.path) as archive:
            data = archive.read(name)
        if _sha256_of(data) != _listed(self.manifest, name):
            raise BackupRefused(f"{name} changed since the archive was verified")
        return data

    def extract(self, name: str, target: Path) -> None:
        """Copy one (large) member to a file, checking its hash."""
        digest = hashlib.sha256()
        with zipfile.ZipFile(self.path) as archive, archive.open(name) as source, target.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != _listed(self.manifest, name):
            target.unlink()
            raise BackupRefused(f"{name} changed since the archive was verified")


def write_backup(out: Path, members: Mapping[str, Member], details: Mapping[str, object]) -> str:
    """Write the archive (never over an existing file); returns the SHA-256 of the manifest."""
    listed = {name: {"sha256": _hash(data), "size": _size(data)} for name, data in sorted(members.items())}
    manifest = json.dumps({**details, "format": FORMAT_VERSION, "members": listed}, indent=2, sort_keys=True)
    with zipfile.ZipFile(out, "x", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members.items()):
            if isinstance(data, Path):
                archive.write(data, name)
            else:
                archive.writestr(name, data)
        archive.writestr(MANIFEST, manifest + "\n")
    return _sha256_of(manifest.encode())


def verify_backup(path: Path) -> VerifiedBackup:
    """Open an archive and check every member against its manifest; BackupRefused names every problem."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read(MANIFEST)) if MANIFEST in names else None
            problems = _problems(archive, names - {MANIFEST}, manifest)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BackupRefused(f"{path} is not a readable backup archive: {exc}") from None
    if problems:
        raise BackupRefused("The backup archive was changed or is incomplete: " + "; ".join(problems))
    assert isinstance(manifest, dict)
    return VerifiedBackup(path, manifest)


def _problems(archive: zipfile.ZipFile, names: set[str], manifest: object) -> list[str]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        return ["no manifest of a known format"]
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        return ["the manifest lists no members"]
    problems = [f"{n} is missing" for n in sorted(set(listed) - names)]
    problems += [f"{n} is not in the manifest" for n in sorted(names - set(listed))]
    for name in sorted(names & set(listed)):
        digest = hashlib.sha256()
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != _listed(manifest, name):
            problems.append(f"{name} does not match its SHA-256")
    return problems


def _listed(manifest: Mapping[str, object], name: str) -> str:
    listed = manifest["members"]
    assert isinstance(listed, dict)
    return str(listed[name]["sha256"])


def _sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash(data: Member) -> str:
    if isinstance(data, bytes):
        return _sha256_of(data)
    digest = hashlib.sha256()
    with data.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _size(data: Member) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size
