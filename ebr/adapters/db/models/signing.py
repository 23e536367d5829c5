"""Signing keys, signatures, challenges, policy versions, acknowledgements and setting changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ebr.adapters.db.base import Base, UtcDateTime


class SigningKeyRow(Base):
    """A user's key pair: the private half only wrapped under their password; the certificate from the site CA."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    kdf_salt: Mapped[str] = mapped_column(String(64))
    kdf_time_cost: Mapped[int] = mapped_column(Integer)
    kdf_memory_kib: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")


class SignatureRow(Base):
    """A signature with its manifestation as it was at signing; append-only (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "signature"
    # Every signature checks the earlier ones on its object: without this the check scans the whole site's.
    __table_args__ = (Index("ix_signature_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    meaning: Mapped[str] = mapped_column(String(32))
    meaning_text: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    signer_username: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    policy_hash: Mapped[str] = mapped_column(String(64))
    challenge_id: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)


class ChallengeRow(Base):
    """A single-use signing challenge bound to the content hash shown to the signer."""

    __tablename__ = "signing_challenge"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    meaning: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PolicyRow(Base):
    """A version of the site signature policy; its text is immutable once stored."""

    __tablename__ = "signature_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AcknowledgementRow(Base):
    """The user's one-time acknowledgement that their e-signature binds like a handwritten one."""

    __tablename__ = "signature_acknowledgement"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    statement: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class SettingChangeRow(Base):
    """A requested GMP setting change; it takes effect with its signature."""

    __tablename__ = "setting_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[int] = mapped_column(Integer)
    new_value: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BadgeRow(Base):
    """A badge (card) that identifies its holder in place of the user id; never enough alone (PWD-08)."""

    __tablename__ = "badge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    badge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")
