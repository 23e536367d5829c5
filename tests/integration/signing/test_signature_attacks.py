"""Attacks by someone with database access, through raw SQL: each must be detected or must fail (SIG-03, SIG-04)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, text

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.app.context import RequestInfo
from ebr.app.ports import StoredSignature
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import SignatureRefused
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.integration.db.tampering import as_owner

GUARDED = ("signature_no_update", "signature_no_delete", "user_account_no_delete")


@contextmanager
def attacker(owner_url: str) -> Iterator[Connection]:
    """Raw SQL as the database owner with the signature and account guards out of the way."""
    with as_owner(owner_url, GUARDED) as conn:
        yield conn


@pytest.fixture
def signed(runtime: Runtime) -> tuple[User, StoredSignature, StoredSignature]:
    """Two signed setting changes by one admin."""
    effective_policy(runtime)
    admin = make_user(runtime, Role.ADMIN, full_name="Ada Admin")
    token = session_token(runtime, admin)
    out = []
    for value in ("3", "4"):
        change = runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", value, "tighten")
        signature = sign(runtime, admin, token, "setting_change", str(change.id), "approved")
        assert isinstance(signature, StoredSignature)
        out.append(signature)
    assert runtime.services.signing.verify() == []
    return admin, out[0], out[1]


def _named(runtime: Runtime) -> dict[int, str]:
    return {f.signature_id: f.problem for f in runtime.services.signing.verify()}


def test_changing_one_signed_value_breaks_that_signature_and_verify_names_it(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    _, first, _ = signed
    with attacker(owner_url) as conn:
        conn.execute(text("UPDATE setting_change SET new_value = 9 WHERE id = :i"), {"i": int(first.object_id)})
    assert _named(runtime) == {first.id: "the signed content was changed after signing"}


@pytest.mark.req("SIG-04")
def test_a_signature_copied_onto_another_record_is_detected(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    _, first, second = signed
    with attacker(owner_url) as conn:
        conn.execute(text("UPDATE signature SET object_id = :o WHERE id = :i"), {"o": second.object_id, "i": first.id})
    assert first.id in _named(runtime)


def test_repointing_a_signature_to_another_signer_is_detected(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    _, first, _ = signed
    other = make_user(runtime, Role.ADMIN, full_name="Otto Other")
    with attacker(owner_url) as conn:
        conn.execute(
            text("UPDATE signature SET signer_id = :u, signer_username = :n, signer_name = :f WHERE id = :i"),
            {"u": other.id, "n": other.username, "f": other.full_name, "i": first.id},
        )
    assert first.id in _named(runtime)


def test_an_inserted_signature_of_random_bytes_is_detected(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    _, first, _ = signed
    with attacker(owner_url) as conn:
        conn.execute(
            text(
                "INSERT INTO signature (object_type, object_id, meaning, meaning_text, content_hash, signer_id, "
                "signer_username, signer_name, signed_at, policy_hash, challenge_id, signature, certificate_pem) "
                "SELECT object_type, object_id, 'approved', meaning_text, content_hash, signer_id, signer_username, "
                "signer_name, signed_at, policy_hash, 'forged-challenge', :sig, certificate_pem "
                "FROM signature WHERE id = :i"
            ),
            {"sig": base64.b64encode(os.urandom(70)).decode(), "i": first.id},
        )
    problems = _named(runtime)
    assert list(problems.values()) == ["signature does not match the signed content"]


def test_a_certificate_made_by_the_attacker_is_rejected(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    admin, first, _ = signed
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.USER_ID, str(admin.id)), x509.NameAttribute(NameOID.PSEUDONYM, admin.username)]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eBR site signing CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with attacker(owner_url) as conn:
        conn.execute(
            text("UPDATE signature SET certificate_pem = :c WHERE id = :i"),
            {"c": cert.public_bytes(serialization.Encoding.PEM).decode(), "i": first.id},
        )
    assert _named(runtime) == {first.id: "certificate not issued by the site CA"}


def test_a_known_password_hash_written_into_the_database_cannot_sign_or_enroll_a_new_key(
    runtime: Runtime,
    owner_url: str,
    signed: tuple[User, StoredSignature, StoredSignature],
    alerts: RecordingAlertSink,
) -> None:
    admin, _, _ = signed
    known = "Attacker-Knows-1"
    with attacker(owner_url) as conn:
        conn.execute(
            text("UPDATE user_account SET password_hash = :h WHERE id = :i"),
            {"h": runtime.services.hasher.hash(known), "i": admin.id},
        )
    token = session_token(runtime, admin, known)  # logging in works: the hash is what the attacker wrote
    change = runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", "6", "attack")
    with pytest.raises(SignatureRefused, match="signing key cannot be unlocked"):
        sign(runtime, admin, token, "setting_change", str(change.id), "approved", password=known)
    with pytest.raises(InvalidInput, match="No new key was enrolled"):
        runtime.services.auth.change_password(actor_of(admin), known, "Fresh-Secret-77", token, RequestInfo())
    with runtime.engine.connect() as conn:
        keys = conn.execute(text("SELECT count(*) FROM signing_key WHERE user_id = :i"), {"i": admin.id}).scalar()
    assert keys == 1
    assert {a.kind for a in alerts.received} >= {"signing-key"}
    assert runtime.services.settings.current()["lockout.threshold"] == 4


def test_a_key_planted_in_the_database_cannot_sign_through_the_application(
    runtime: Runtime, owner_url: str, signed: tuple[User, StoredSignature, StoredSignature]
) -> None:
    from ebr.adapters.pki.keys import TEST_KDF, SitePki

    admin, _, _ = signed
    rogue_ca_folder = runtime.settings.instance_path.parent / "rogue-ca"
    planted = SitePki(rogue_ca_folder, TEST_KDF).enroll(
        admin.id, admin.username, admin.full_name, "Attacker-Knows-1", runtime.services.clock.now()
    )
    with attacker(owner_url) as conn:
        conn.execute(
            text("UPDATE user_account SET password_hash = :h WHERE id = :i"),
            {"h": runtime.services.hasher.hash("Attacker-Knows-1"), "i": admin.id},
        )
        conn.execute(
            text(
                "UPDATE signing_key SET certificate_pem = :c, kdf_salt = :s, nonce = :n, wrapped_key = :w, "
                "kdf_time_cost = :t, kdf_memory_kib = :m WHERE user_id = :i"
            ),
            {
                "c": planted.certificate_pem,
                "s": planted.wrapped.salt,
                "n": planted.wrapped.nonce,
                "w": planted.wrapped.ciphertext,
                "t": planted.wrapped.time_cost,
                "m": planted.wrapped.memory_kib,
                "i": admin.id,
            },
        )
    token = session_token(runtime, admin, "Attacker-Knows-1")
    change = runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", "6", "attack")
    with pytest.raises(SignatureRefused):
        sign(runtime, admin, token, "setting_change", str(change.id), "approved", password="Attacker-Knows-1")
    assert runtime.services.signing.signatures_on("setting_change", str(change.id)) == []
