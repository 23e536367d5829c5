"""Passphrase-encrypted copies of the instance folder's private keys, for backups (REC-05).

A backup never holds a private key in clear text: each one leaves as encrypted PKCS#8 (the best encryption the
cryptography library offers) and is only decrypted on restore, with the same passphrase.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

MIN_PASSPHRASE = 12


class EscrowRefused(Exception):
    """The passphrase is missing, too short or wrong, or the file is not a private key."""


def is_private_key(pem: bytes) -> bool:
    """True for a PEM file holding a private key of any kind."""
    return b"PRIVATE KEY-----" in pem


def seal(pem: bytes, passphrase: str) -> bytes:
    """The key as encrypted PKCS#8 PEM."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise EscrowRefused(f"The backup passphrase must have at least {MIN_PASSPHRASE} characters.")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise EscrowRefused(f"not an unencrypted private key: {exc}") from None
    encryption = serialization.BestAvailableEncryption(passphrase.encode())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def unseal(encrypted: bytes, passphrase: str) -> bytes:
    """The key as unencrypted PKCS#8 PEM, the form the instance folder keeps it in."""
    if not passphrase:
        raise EscrowRefused("The backup holds encrypted private keys: set the backup passphrase to restore them.")
    try:
        key = serialization.load_pem_private_key(encrypted, password=passphrase.encode())
    except (ValueError, TypeError):
        raise EscrowRefused("The backup passphrase does not decrypt the private keys in this backup.") from None
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
