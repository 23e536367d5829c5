"""Ports of electronic signatures: keys, signatures, challenges, policy versions, badges, setting changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class KeyUnavailable(Exception):
    """The user's signing key could not be unlocked (wrong password, or a key that is not theirs)."""


@dataclass(frozen=True)
class WrappedKey:
    """A private key encrypted under a key derived from its owner's password."""

    salt: str
    nonce: str
    ciphertext: str
    time_cost: int
    memory_kib: int


@dataclass(frozen=True)
class Enrollment:
    """A new key pair: its certificate from the site CA and the wrapped private key."""

    serial: str
    certificate_pem: str
    wrapped: WrappedKey


class SigningKeys(Protocol):
    """Per-user keys and the site CA (the CA key lives in the instance folder, never in the database)."""

    def enroll(self, user_id: int, username: str, full_name: str, password: str, now: datetime) -> Enrollment: ...
    def rewrap(self, wrapped: WrappedKey, old_password: str, new_password: str) -> WrappedKey: ...
    def can_unwrap(self, wrapped: WrappedKey, password: str) -> bool: ...
    def sign(self, wrapped: WrappedKey, password: str, payload: bytes) -> str: ...
    def verify(self, certificate_pem: str, payload: bytes, signature: str) -> tuple[str, str] | str: ...
    def ca_certificate_pem(self) -> str: ...


@dataclass(frozen=True)
class StoredKey:
    """A user's enrolled key."""

    id: int
    user_id: int
    serial: str
    certificate_pem: str
    wrapped: WrappedKey
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class StoredSignature:
    """A signature as recorded: the manifestation is stored as it was at signing (SIG-02)."""

    id: int
    object_type: str
    object_id: str
    meaning: str
    meaning_text: str
    content_hash: str
    signer_id: int
    signer_username: str
    signer_name: str
    signed_at: datetime
    policy_hash: str
    challenge_id: str
    signature: str
    certificate_pem: str


@dataclass(frozen=True)
class Challenge:
    """A single-use signing challenge bound to the content hash the signer is shown (SIG-15)."""

    id: str
    session_hash: str
    owner_id: int
    object_type: str
    object_id: str
    meaning: str
    content_hash: str
    content: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class StoredPolicy:
    """A version of the site signature policy."""

    id: int
    version: str
    text: str
    content_hash: str
    status: str
    imported_at: datetime
    effective_at: datetime | None


@dataclass(frozen=True)
class SettingChange:
    """A requested change of a GMP setting, applied when its signature is given."""

    id: int
    key: str
    old_value: int
    new_value: int
    reason: str
    requested_by: int | None
    requested_at: datetime
    applied_at: datetime | None


class SigningKeyRepository(Protocol):
    """Enrolled keys; at most one active per user."""

    def active_for(self, user_id: int) -> StoredKey | None: ...
    def add(self, user_id: int, enrollment: Enrollment, at: datetime) -> StoredKey: ...
    def replace_wrapping(self, key_id: int, wrapped: WrappedKey) -> None: ...
    def revoke(self, key_id: int, reason: str, at: datetime) -> None: ...


class SignatureRepository(Protocol):
    """Append-only signatures."""

    def add(self, signature: StoredSignature) -> StoredSignature: ...
    def for_object(self, object_type: str, object_id: str) -> list[StoredSignature]: ...
    def all(self) -> list[StoredSignature]: ...
    def page(self, after_id: int, limit: int) -> list[StoredSignature]: ...


class ChallengeRepository(Protocol):
    """Signing challenges."""

    def add(self, challenge: Challenge) -> None: ...
    def get(self, challenge_id: str) -> Challenge | None: ...
    def use(self, challenge_id: str, at: datetime) -> bool: ...


class PolicyRepository(Protocol):
    """Versions of the site signature policy."""

    def add(self, version: str, text: str, content_hash: str, at: datetime) -> StoredPolicy: ...
    def get(self, policy_id: int) -> StoredPolicy: ...
    def effective(self) -> StoredPolicy | None: ...
    def make_effective(self, policy_id: int, at: datetime) -> None: ...
    def list(self) -> list[StoredPolicy]: ...


class AcknowledgementRepository(Protocol):
    """The one-time acknowledgement that an e-signature binds like a handwritten one (11.100(c))."""

    def has(self, user_id: int) -> bool: ...
    def add(self, user_id: int, statement: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class Badge:
    """An issued badge; only the hash of its code is stored."""

    id: int
    user_id: int
    issued_at: datetime
    revoked_at: datetime | None


class BadgeRepository(Protocol):
    """Badges: issued, replaced and revoked, never deleted."""

    def add(self, user_id: int, badge_hash: str, at: datetime) -> Badge: ...
    def by_hash(self, badge_hash: str) -> Badge | None: ...
    def active_for(self, user_id: int) -> list[Badge]: ...
    def revoke(self, badge_id: int, reason: str, at: datetime) -> None: ...


class SettingChangeRepository(Protocol):
    """Requested and applied GMP setting changes."""

    def add(
        self, key: str, old: int, new: int, reason: str, requested_by: int | None, at: datetime
    ) -> SettingChange: ...
    def get(self, change_id: int) -> SettingChange: ...
    def mark_applied(self, change_id: int, at: datetime) -> None: ...
