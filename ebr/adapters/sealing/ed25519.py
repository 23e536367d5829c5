"""Ed25519 seals for audit entries and checkpoints; the key and the checkpoint log live in the instance folder.

Someone who can write to the database cannot forge a seal or a checkpoint without this key, so
rewriting history, even with every later hash recomputed, is detected (AUD-06).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ebr.domain.audit import Checkpoint, to_utc_text


class Ed25519Sealer:
    """Signs with the instance audit key, creating it (mode 0600) on first use."""

    def __init__(self, key_path: Path) -> None:
        self._key = _load_or_create(key_path)
        self._public: Ed25519PublicKey = self._key.public_key()

    def sign(self, message: bytes) -> str:
        """Base64 Ed25519 signature."""
        return base64.b64encode(self._key.sign(message)).decode()

    def verify(self, message: bytes, signature: str) -> bool:
        """True for a signature by this instance's key."""
        try:
            self._public.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key_pem(self) -> str:
        """The public half, for verification outside the application."""
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


class FileCheckpointStore:
    """An append-only JSON-lines log of signed checkpoints in the instance folder."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def append(self, checkpoint: Checkpoint) -> None:
        """Append and fsync, so a checkpoint survives a crash."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "seq": checkpoint.seq,
                "head_hash": checkpoint.head_hash,
                "at": to_utc_text(checkpoint.at),
                "signature": checkpoint.signature,
            }
        )
        with self._path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def all(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        if not self._path.exists():
            return []
        out = []
        for line in self._path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                at = datetime.fromisoformat(d["at"].replace("Z", "+00:00"))
                out.append(Checkpoint(int(d["seq"]), d["head_hash"], at, d["signature"]))
        return out
