"""Row ⇄ domain translation for the signature ports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ebr.adapters.db.models import (
    AcknowledgementRow,
    BadgeRow,
    ChallengeRow,
    PolicyRow,
    SettingChangeRow,
    SignatureRow,
    SigningKeyRow,
)
from ebr.app.ports import (
    Badge,
    Challenge,
    Enrollment,
    SettingChange,
    StoredKey,
    StoredPolicy,
    StoredSignature,
    WrappedKey,
)
from ebr.domain.errors import NotFound


def _key(row: SigningKeyRow) -> StoredKey:
    wrapped = WrappedKey(row.kdf_salt, row.nonce, row.wrapped_key, row.kdf_time_cost, row.kdf_memory_kib)
    return StoredKey(row.id, row.user_id, row.serial, row.certificate_pem, wrapped, row.created_at, row.revoked_at)


class SqlSigningKeyRepository:
    """Enrolled keys."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def active_for(self, user_id: int) -> StoredKey | None:
        row = self._s.scalars(
            select(SigningKeyRow)
            .where(SigningKeyRow.user_id == user_id, SigningKeyRow.revoked_at.is_(None))
            .order_by(SigningKeyRow.id.desc())
        ).first()
        return _key(row) if row else None

    def add(self, user_id: int, enrollment: Enrollment, at: datetime) -> StoredKey:
        w = enrollment.wrapped
        row = SigningKeyRow(
            user_id=user_id,
            serial=enrollment.serial,
            certificate_pem=enrollment.certificate_pem,
            kdf_salt=w.salt,
            kdf_time_cost=w.time_cost,
            kdf_memory_kib=w.memory_kib,
            nonce=w.nonce,
            wrapped_key=w.ciphertext,
            created_at=at,
        )
        self._s.add(row)
        self._s.flush()  # the id links the key to its audit entry
        return _key(row)

    def replace_wrapping(self, key_id: int, wrapped: WrappedKey) -> None:
        row = self._s.get(SigningKeyRow, key_id)
        if row is None:
            raise NotFound(f"No signing key {key_id}.")
        row.kdf_salt, row.nonce, row.wrapped_key = wrapped.salt, wrapped.nonce, wrapped.ciphertext
        row.kdf_time_cost, row.kdf_memory_kib = wrapped.time_cost, wrapped.memory_kib

    def revoke(self, key_id: int, reason: str, at: datetime) -> None:
        row = self._s.get(SigningKeyRow, key_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at, row.revoke_reason = at, reason[:200]


def _signature(r: SignatureRow) -> StoredSignature:
    return StoredSignature(
        r.id,
        r.object_type,
        r.object_id,
        r.meaning,
        r.meaning_text,
        r.content_hash,
        r.signer_id,
        r.signer_username,
        r.signer_name,
        r.signed_at,
        r.policy_hash,
        r.challenge_id,
        r.signature,
        r.certificate_pem,
    )


class SqlSignatureRepository:
    """Append-only signatures."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, signature: StoredSignature) -> StoredSignature:
        fields = {k: v for k, v in signature.__dict__.items() if k != "id"}
        row = SignatureRow(**fields)
        self._s.add(row)
        self._s.flush()  # the id is printed in the manifestation and the audit entry
        return _signature(row)

    def for_object(self, object_type: str, object_id: str) -> list[StoredSignature]:
        rows = self._s.scalars(
            select(SignatureRow)
            .where(SignatureRow.object_type == object_type, SignatureRow.object_id == object_id)
            .order_by(SignatureRow.id)
        )
        return [_signature(r) for r in rows]

    def all(self) -> list[StoredSignature]:
        return [_signature(r) for r in self._s.scalars(select(SignatureRow).order_by(SignatureRow.id))]

    def page(self, after_id: int, limit: int) -> list[StoredSignature]:
        query = select(SignatureRow).where(SignatureRow.id > after_id).order_by(SignatureRow.id).limit(limit)
        return [_signature(r) for r in self._s.scalars(query)]


class SqlChallengeRepository:
    """Signing challenges."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, challenge: Challenge) -> None:
        self._s.add(ChallengeRow(**challenge.__dict__))

    def get(self, challenge_id: str) -> Challenge | None:
        row = self._s.get(ChallengeRow, challenge_id)
        if row is None:
            return None
        return Challenge(
            row.id,
            row.session_hash,
            row.owner_id,
            row.object_type,
            row.object_id,
            row.meaning,
            row.content_hash,
            row.content,
            row.created_at,
            row.expires_at,
            row.used_at,
        )

    def use(self, challenge_id: str, at: datetime) -> bool:
        # One atomic UPDATE: of two concurrent submissions of the same challenge exactly one wins.
        result = self._s.execute(
            update(ChallengeRow)
            .where(ChallengeRow.id == challenge_id, ChallengeRow.used_at.is_(None))
            .values(used_at=at)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def _policy(r: PolicyRow) -> StoredPolicy:
    return StoredPolicy(r.id, r.version, r.text, r.content_hash, r.status, r.imported_at, r.effective_at)


class SqlPolicyRepository:
    """Versions of the site signature policy."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, version: str, text: str, content_hash: str, at: datetime) -> StoredPolicy:
        row = PolicyRow(version=version, text=text, content_hash=content_hash, status="draft", imported_at=at)
        self._s.add(row)
        self._s.flush()  # the id is what QA approves
        return _policy(row)

    def get(self, policy_id: int) -> StoredPolicy:
        row = self._s.get(PolicyRow, policy_id)
        if row is None:
            raise NotFound(f"No signature policy version {policy_id}.")
        return _policy(row)

    def effective(self) -> StoredPolicy | None:
        row = self._s.scalars(select(PolicyRow).where(PolicyRow.status == "effective")).first()
        return _policy(row) if row else None

    def make_effective(self, policy_id: int, at: datetime) -> None:
        for row in self._s.scalars(select(PolicyRow).where(PolicyRow.status == "effective")):
            row.status = "superseded"
        target = self._s.get(PolicyRow, policy_id)
        if target is None:
            raise NotFound(f"No signature policy version {policy_id}.")
        target.status, target.effective_at = "effective", at

    def list(self) -> list[StoredPolicy]:
        return [_policy(r) for r in self._s.scalars(select(PolicyRow).order_by(PolicyRow.id))]


class SqlAcknowledgementRepository:
    """One acknowledgement per user."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def has(self, user_id: int) -> bool:
        return self._s.get(AcknowledgementRow, user_id) is not None

    def add(self, user_id: int, statement: str, at: datetime) -> None:
        self._s.add(AcknowledgementRow(user_id=user_id, statement=statement, at=at))


def _change(r: SettingChangeRow) -> SettingChange:
    return SettingChange(r.id, r.key, r.old_value, r.new_value, r.reason, r.requested_by, r.requested_at, r.applied_at)


class SqlSettingChangeRepository:
    """Requested GMP setting changes."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, key: str, old: int, new: int, reason: str, requested_by: int | None, at: datetime) -> SettingChange:
        row = SettingChangeRow(
            key=key, old_value=old, new_value=new, reason=reason, requested_by=requested_by, requested_at=at
        )
        self._s.add(row)
        self._s.flush()  # the id is what the signature covers
        return _change(row)

    def get(self, change_id: int) -> SettingChange:
        row = self._s.get(SettingChangeRow, change_id)
        if row is None:
            raise NotFound(f"No setting change {change_id}.")
        return _change(row)

    def mark_applied(self, change_id: int, at: datetime) -> None:
        row = self._s.get(SettingChangeRow, change_id)
        if row is not None:
            row.applied_at = at


def _badge(r: BadgeRow) -> Badge:
    return Badge(r.id, r.user_id, r.issued_at, r.revoked_at)


class SqlBadgeRepository:
    """Badges."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, user_id: int, badge_hash: str, at: datetime) -> Badge:
        row = BadgeRow(user_id=user_id, badge_hash=badge_hash, issued_at=at)
        self._s.add(row)
        self._s.flush()  # the id identifies the badge in the audit entry
        return _badge(row)

    def by_hash(self, badge_hash: str) -> Badge | None:
        row = self._s.scalars(select(BadgeRow).where(BadgeRow.badge_hash == badge_hash)).one_or_none()
        return _badge(row) if row else None

    def active_for(self, user_id: int) -> list[Badge]:
        rows = self._s.scalars(select(BadgeRow).where(BadgeRow.user_id == user_id, BadgeRow.revoked_at.is_(None)))
        return [_badge(r) for r in rows]

    def revoke(self, badge_id: int, reason: str, at: datetime) -> None:
        row = self._s.get(BadgeRow, badge_id)
        if row is None:
            raise NotFound(f"No badge {badge_id}.")
        if row.revoked_at is None:
            row.revoked_at, row.revoke_reason = at, reason[:200]
