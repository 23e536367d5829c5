"""Verification of every stored signature (`ebr verify signatures`; SIG-03, SIG-04)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ebr.app.context import AuditContext
from ebr.app.ports import SigningKeys, StoredSignature, UnitOfWork, UnitOfWorkFactory
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


# Signatures checked per unit of work. Reading a step's content locks its batch, which forgets everything the
# transaction has loaded so far: in one transaction for all signatures that made the check quadratic. A fresh
# transaction per page keeps the cost per signature flat and holds each batch lock only for one page.
PAGE = 100


def verify_signatures(
    uow_factory: UnitOfWorkFactory,
    context: AuditContext,
    keys: SigningKeys,
    signables: Mapping[str, Signable],
    page_size: int = PAGE,
) -> list[SignatureFinding]:
    """Check every signature: certificate chain to the site CA, signature over the payload rebuilt from the
    stored columns, signer named in the certificate, and the hash of the object's current content (SIG-03, SIG-04)."""
    findings: list[SignatureFinding] = []
    after = 0
    while True:
        with uow_factory(context) as uow:
            page = uow.signatures.page(after, page_size)
            for sig in page:
                problem = _problem(uow, keys, signables, sig)
                if problem:
                    findings.append(SignatureFinding(sig.id, sig.object_type, sig.object_id, problem))
        if len(page) < page_size:
            return findings
        after = page[-1].id


def _problem(uow: UnitOfWork, keys: SigningKeys, signables: Mapping[str, Signable], sig: StoredSignature) -> str:
    """Why one signature does not verify, or "" when it does."""
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
    if isinstance(outcome, str):
        return outcome
    if outcome != (str(sig.signer_id), sig.signer_username):
        return "the certificate belongs to someone other than the recorded signer"
    if sig.object_type not in signables:
        return f"unknown signed object type {sig.object_type}"
    try:
        current = content_digest(signables[sig.object_type].content(uow, sig.object_id))
    except NotFound:
        current = "missing"
    if current != sig.content_hash:
        return "the signed content was changed after signing"
    return ""
