"""EC P-256 signing keys: the private key is stored only encrypted under a key derived from the
user's own password (argon2id → AES-256-GCM); the site CA, kept in the instance folder, certifies
the public key. Someone with database access can neither unwrap a key nor mint a certificate."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from ebr.app.ports import Enrollment, KeyUnavailable, WrappedKey

CERT_YEARS = 10


@dataclass(frozen=True)
class KdfProfile:
    """argon2id cost for deriving the wrapping key; the test profile is cheap."""

    time_cost: int
    memory_kib: int


PRODUCTION_KDF = KdfProfile(time_cost=3, memory_kib=65536)
TEST_KDF = KdfProfile(time_cost=1, memory_kib=1024)


class SitePki:
    """The site CA (created on first use, mode 0600) and the key operations for users."""

    def __init__(self, folder: Path, kdf: KdfProfile = PRODUCTION_KDF) -> None:
        self._folder = folder
        self._kdf = kdf
        self._ca_key, self._ca_cert = _load_or_create_ca(folder)

    def ca_certificate_pem(self) -> str:
        """The trust anchor, for verification outside the application."""
        return self._ca_cert.public_bytes(serialization.Encoding.PEM).decode()

    def enroll(self, user_id: int, username: str, full_name: str, password: str, now: datetime) -> Enrollment:
        """A new key pair wrapped under the password, with a certificate from the site CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        serial = x509.random_serial_number()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.USER_ID, str(user_id)),
                x509.NameAttribute(NameOID.COMMON_NAME, full_name[:64] or username),
                x509.NameAttribute(NameOID.PSEUDONYM, username),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        return Enrollment(
            format(serial, "x"), cert.public_bytes(serialization.Encoding.PEM).decode(), self._wrap(der, password)
        )

    def _wrap(self, secret: bytes, password: str) -> WrappedKey:
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        kek = self._derive(password, salt, self._kdf)
        sealed = AESGCM(kek).encrypt(nonce, secret, b"ebr-signing-key-v1")
        return WrappedKey(_b64(salt), _b64(nonce), _b64(sealed), self._kdf.time_cost, self._kdf.memory_kib)

    @staticmethod
    def _derive(password: str, salt: bytes, kdf: KdfProfile) -> bytes:
        return hash_secret_raw(
            password.encode(),
            salt,
            time_cost=kdf.time_cost,
            memory_cost=kdf.memory_kib,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        )

    def _unwrap(self, wrapped: WrappedKey, password: str) -> ec.EllipticCurvePrivateKey:
        kek = self._derive(password, _unb64(wrapped.salt), KdfProfile(wrapped.time_cost, wrapped.memory_kib))
        try:
            der = AESGCM(kek).decrypt(_unb64(wrapped.nonce), _unb64(wrapped.ciphertext), b"ebr-signing-key-v1")
        except InvalidTag:
            raise KeyUnavailable("The signing key cannot be unlocked with this password.") from None
        key = serialization.load_der_private_key(der, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def unwrap(self, wrapped: WrappedKey, password: str) -> ec.EllipticCurvePrivateKey:
        """The user's private key, for a signature made inside this adapter (PAdES); KeyUnavailable on a wrong
        password. The caller drops it as soon as the signature is made."""
        return self._unwrap(wrapped, password)

    def rewrap(self, wrapped: WrappedKey, old_password: str, new_password: str) -> WrappedKey:
        """Re-encrypt the same key under a new password (password change)."""
        key = self._unwrap(wrapped, old_password)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return self._wrap(der, new_password)

    def can_unwrap(self, wrapped: WrappedKey, password: str) -> bool:
        """True when the password unlocks the key."""
        try:
            self._unwrap(wrapped, password)
        except KeyUnavailable:
            return False
        return True

    def sign(self, wrapped: WrappedKey, password: str, payload: bytes) -> str:
        """ECDSA-SHA256 over the payload with the user's own key; raises KeyUnavailable on a wrong password."""
        return _b64(self._unwrap(wrapped, password).sign(payload, ec.ECDSA(hashes.SHA256())))

    def verify(self, certificate_pem: str, payload: bytes, signature: str) -> tuple[str, str] | str:
        """(user id, username) of a valid signature by a certificate of this site CA, else the problem."""
        try:
            cert = x509.load_pem_x509_certificate(certificate_pem.encode())
        except ValueError:
            return "certificate unreadable"
        try:
            cert.verify_directly_issued_by(self._ca_cert)
        except (ValueError, TypeError, InvalidSignature):
            return "certificate not issued by the site CA"
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            return "certificate key is not EC"
        try:
            public.verify(_unb64(signature), payload, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return "signature does not match the signed content"
        uid = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
        pseudonym = cert.subject.get_attributes_for_oid(NameOID.PSEUDONYM)
        return (str(uid[0].value) if uid else "", str(pseudonym[0].value) if pseudonym else "")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def _load_or_create_ca(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = folder / "site-ca.key", folder / "site-ca.pem"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eBR site signing CA")])
    now = datetime.now().astimezone()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert
