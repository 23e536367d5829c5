"""Verification of every stored signature (`ebr verify signatures`; SIG-03, SIG-04)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ebr.app.ports import SigningKeys, UnitOfWork
from ebr.domain.errors import NotFound
from ebr.domain.signatures import SignedPayload, content_digest

if TYPE_CHECKING:
    from ebr.app.signing import Signable


@dataclass(frozen=True)
class SignatureFinding:
    """A signature that does not verify, and why."""

    signature_id: int
    object_type: str
    object_id: str
    problem: str

    def __str__(self) -> str:
        return f"signature {self.signature_id} on {self.object_type} {self.object_id}: {self.problem}"


def verify_signatures(uow: UnitOfWork, keys: SigningKeys, signables: Mapping[str, Signable]) -> list[SignatureFinding]:
    """Check every signature: certificate chain to the site CA, signature over the payload rebuilt from the
    stored columns, signer named in the certificate, and the hash of the object's current content (SIG-03, SIG-04)."""
    findings = []
    for sig in uow.signatures.all():
        payload = SignedPayload(
            sig.object_type,
            sig.object_id,
            sig.meaning,
            sig.content_hash,
            sig.signer_id,
            sig.signer_username,
            sig.signer_name,
            sig.signed_at,
            sig.policy_hash,
            sig.challenge_id,
        )
        outcome = keys.verify(sig.certificate_pem, payload.to_bytes(), sig.signature)
        problem = ""
        if isinstance(outcome, str):
            problem = outcome
        elif outcome != (str(sig.signer_id), sig.signer_username):
            problem = "the certificate belongs to someone other than the recorded signer"
        elif sig.object_type not in signables:
            problem = f"unknown signed object type {sig.object_type}"
        else:
            try:
                current = content_digest(signables[sig.object_type].content(uow, sig.object_id))
            except NotFound:
                current = "missing"
            if current != sig.content_hash:
                problem = "the signed content was changed after signing"
        if problem:
            findings.append(SignatureFinding(sig.id, sig.object_type, sig.object_id, problem))
    return findings
