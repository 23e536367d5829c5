"""The site signature policy: import a version as a draft; it takes effect when QA approves it with a signature."""

from __future__ import annotations

import functools
import hashlib
import tomllib
from collections.abc import Callable, Mapping

from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, StoredPolicy, StoredSignature, UnitOfWork, UnitOfWorkFactory
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.signatures import SignatureRefused, SitePolicy, parse_policy


def parse_text(text: str) -> SitePolicy:
    """Parse and validate a policy document; the hash is over its exact bytes."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"Signature policy is not valid TOML: {exc}") from None
    return parse_policy(document, hashlib.sha256(text.encode()).hexdigest())


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> SitePolicy:
    # Keyed by the exact text read from the database: a stored policy never changes, so this cannot go stale.
    return parse_text(text)


def effective_policy(uow: UnitOfWork) -> SitePolicy:
    """The policy in force; nothing but the policy's own approval can be signed before one exists."""
    stored = uow.policies.effective()
    if stored is None:
        raise SignatureRefused("No site signature policy is in force yet: QA must approve one first.")
    return _parsed(stored.text)


class PolicyService:
    """Import and inspect policy versions (approval goes through the signature service)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, library_text: Callable[[], str]) -> None:
        self._uow = uow
        self._clock = clock
        self._library_text = library_text

    def import_library(self, actor: Actor, request: RequestInfo | None = None) -> StoredPolicy:
        """Import the library's signatures/policy.toml (the plant's controlled copy)."""
        return self.import_text(actor, self._library_text(), request)

    def import_text(self, actor: Actor, text: str, request: RequestInfo | None = None) -> StoredPolicy:
        """Store a new draft version; an identical text already stored is returned as it is."""
        policy = parse_text(text)
        with self._uow(
            AuditContext(actor, self._clock.now(), "signature policy imported", request or RequestInfo())
        ) as uow:
            for existing in uow.policies.list():
                if existing.content_hash == policy.content_hash:
                    return existing
            if any(p.version == policy.version for p in uow.policies.list()):
                raise Conflict(f"Policy version {policy.version} exists with other content: number it anew.")
            stored = uow.policies.add(policy.version, text, policy.content_hash, self._clock.now())
            uow.commit()
        return stored

    def list(self) -> list[StoredPolicy]:
        """Every version, newest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return sorted(uow.policies.list(), key=lambda p: p.id, reverse=True)

    def effective(self) -> SitePolicy | None:
        """The policy in force, if any."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            stored = uow.policies.effective()
            return parse_text(stored.text) if stored else None


class PolicySignable:
    """Approving a policy version: QA signs its exact text; it then supersedes the version in force."""

    object_type = "signature_policy"

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]:
        stored = uow.policies.get(int(object_id))
        # Only what never changes: approval moves the status, which must not invalidate the signature.
        return {
            "object": "signature_policy",
            "id": stored.id,
            "version": stored.version,
            "content_hash": stored.content_hash,
        }

    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy:
        # A version is approved under its own rules, which the domain floor pins to QA (GOVERNANCE_FLOOR).
        return parse_text(uow.policies.get(int(object_id)).text)

    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str:
        return f"signature policy version {uow.policies.get(int(object_id)).version} approved"

    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None:
        stored = uow.policies.get(int(object_id))
        if stored.status != "draft" or signature.meaning != "approved":
            raise Conflict(f"Policy version {stored.version} is {stored.status}; only a draft can be approved.")
        uow.policies.make_effective(stored.id, ctx.at)
