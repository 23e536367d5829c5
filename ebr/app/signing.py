"""One signature service for every signed act (21 CFR 11.50, 11.70, 11.100, 11.200, 11.300).

request() opens a single-use challenge bound to the content hash shown to the signer; sign()
re-authenticates (outside any transaction), signs the canonical payload with the signer's own key,
then in one unit of work re-checks the rules and the content, records the signature, performs the
signed act and writes the audit entry.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from ebr.app.alerts import AlertService, raise_alert
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import (
    Challenge,
    Clock,
    KeyUnavailable,
    PasswordHasher,
    SigningKeys,
    StoredKey,
    StoredSignature,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.app.sessions import token_hash
from ebr.app.signature_check import SignatureFinding, verify_signatures
from ebr.domain.accounts import User
from ebr.domain.audit import Action
from ebr.domain.configuration import GmpSettings
from ebr.domain.errors import Conflict, NotFound
from ebr.domain.signatures import (
    ContentChanged,
    SignatureRefused,
    SignedPayload,
    SitePolicy,
    check_can_sign,
    content_digest,
    password_alone_suffices,
)

CHALLENGE_MINUTES = 10
ACKNOWLEDGEMENT = (
    "I understand that my electronic signature is the legally binding equivalent of my "
    "handwritten signature (21 CFR 11.100(c))."
)


class Signable(Protocol):
    """An object type that can be signed: its current content, and the act a signature performs."""

    object_type: str

    def content(self, uow: UnitOfWork, object_id: str) -> Mapping[str, object]: ...
    def policy_for(self, uow: UnitOfWork, object_id: str) -> SitePolicy: ...
    def audit_reason(self, uow: UnitOfWork, object_id: str) -> str: ...
    def apply(self, uow: UnitOfWork, object_id: str, signature: StoredSignature, ctx: AuditContext) -> None: ...


@dataclass(frozen=True)
class SigningRequest:
    """What the signing dialog shows (SIG-10): meaning, summary of the content, and what must be entered."""

    challenge: Challenge
    meaning_text: str
    content: Mapping[str, object]
    user_id_required: bool
    acknowledgement_required: bool
    acknowledgement: str = ACKNOWLEDGEMENT


@dataclass(frozen=True)
class Credentials:
    """What the signer typed."""

    password: str
    username: str = ""
    acknowledged: bool = False
    badge: str = ""  # identifies the signer like a user id; never enough without the password (PWD-08)


@dataclass(frozen=True)
class _Prepared:
    """What one read before re-authentication yields: who signs, with which key, what and under which policy."""

    signer: User
    key: StoredKey | None
    challenge: Challenge
    password_hash: str
    audit_reason: str
    policy_hash: str


class SigningService:
    """The use cases of signing."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        keys: SigningKeys,
        alerts: AlertService,
        signables: Mapping[str, Signable],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._keys = keys
        self._alerts = alerts
        self._signables = signables

    def verify(self) -> list[SignatureFinding]:
        """Every signature that fails verification, named (ebr verify signatures)."""
        return verify_signatures(
            self._uow, AuditContext(Actor.system(), self._clock.now()), self._keys, self._signables
        )

    def signatures_on(self, object_type: str, object_id: str) -> list[StoredSignature]:
        """The signatures of one object, oldest first, with their manifestations."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.signatures.for_object(object_type, object_id)

    def _signable(self, object_type: str) -> Signable:
        if object_type not in self._signables:
            raise NotFound(f"Nothing of type {object_type!r} can be signed.")
        return self._signables[object_type]

    def request(
        self,
        owner: Actor,
        session_token: str,
        object_type: str,
        object_id: str,
        meaning: str,
        request: RequestInfo | None = None,
    ) -> SigningRequest:
        """Open a challenge over the content as it is now."""
        signable = self._signable(object_type)
        now = self._clock.now()
        if owner.user_id is None:
            raise SignatureRefused("Signing needs a logged-in session.")
        with self._uow(AuditContext(owner, now, request=request or RequestInfo())) as uow:
            content = signable.content(uow, object_id)  # first: an unknown object is 404, not a policy refusal
            policy = signable.policy_for(uow, object_id)
            policy.rule(object_type, meaning)
            challenge = Challenge(
                secrets.token_urlsafe(24),
                token_hash(session_token),
                owner.user_id,
                object_type,
                object_id,
                meaning,
                content_digest(content),
                json.dumps(content, default=str),
                now,
                now + timedelta(minutes=CHALLENGE_MINUTES),
                None,
            )
            uow.challenges.add(challenge)
            uow.commit()
        return self.describe(owner, session_token, challenge.id)

    def describe(self, owner: Actor, session_token: str, challenge_id: str) -> SigningRequest:
        """The dialog for an open challenge of this session."""
        with self._uow(AuditContext(owner, self._clock.now())) as uow:
            challenge = self._own_challenge(uow, owner, session_token, challenge_id)
            policy = self._signable(challenge.object_type).policy_for(uow, challenge.object_id)
            session = uow.sessions.get(token_hash(session_token))
            signed_before = session is not None and session.signed_at is not None
            ack_needed = owner.user_id is None or not uow.acknowledgements.has(owner.user_id)
        return SigningRequest(
            challenge,
            policy.meaning(challenge.meaning).text,
            json.loads(challenge.content),
            not signed_before,
            ack_needed,
        )

    def _own_challenge(self, uow: UnitOfWork, owner: Actor, session_token: str, challenge_id: str) -> Challenge:
        challenge = uow.challenges.get(challenge_id)
        if challenge is None or challenge.session_hash != token_hash(session_token):
            raise NotFound("No such signing request in this session.")
        if challenge.used_at is not None:
            raise Conflict("This signing request was already used; start again.")
        if self._clock.now() > challenge.expires_at:
            raise Conflict("This signing request expired; start again.")
        return challenge

    def sign(
        self,
        owner: Actor,
        session_token: str,
        challenge_id: str,
        shown_hash: str,
        given: Credentials,
        request: RequestInfo | None = None,
    ) -> StoredSignature:
        """Re-authenticate, sign with the signer's own key, record and apply: all or nothing."""
        info = request or RequestInfo()
        prepared = self._prepare(owner, session_token, challenge_id, given)
        signer, key, challenge, stored_hash, reason = (
            prepared.signer,
            prepared.key,
            prepared.challenge,
            prepared.password_hash,
            prepared.audit_reason,
        )
        if shown_hash != challenge.content_hash:
            raise ContentChanged("The content changed after it was shown: review it again.")
        now = self._clock.now()
        payload = SignedPayload(
            challenge.object_type,
            challenge.object_id,
            challenge.meaning,
            challenge.content_hash,
            signer.id,
            signer.username,
            signer.full_name,
            now,
            prepared.policy_hash,
            challenge.id,
        )
        password_ok = self._hasher.verify(stored_hash, given.password)  # outside any transaction
        signature_b64, problem = "", ""
        if not password_ok:
            problem = "wrong password"
        elif key is None:
            problem = "no signing key: set your own password first"
        else:
            try:
                signature_b64 = self._keys.sign(key.wrapped, given.password, payload.to_bytes())
            except KeyUnavailable:
                problem = "signing key cannot be unlocked"
            else:
                # A key planted in the database would sign, but its certificate would not chain to the site CA.
                check = self._keys.verify(key.certificate_pem, payload.to_bytes(), signature_b64)
                if check != (str(signer.id), signer.username):
                    problem = "signing key cannot be unlocked"
        if problem:
            self._refuse(signer, challenge, problem, info)
        assert key is not None
        prepare = getattr(self._signable(challenge.object_type), "prepare_signature", None)
        if prepare is not None:  # e.g. a release's PDF signature: the key is usable only now, outside any transaction
            prepare(challenge, key, given.password, signer, payload.signed_at)
        ctx = AuditContext(Actor(signer.id, signer.username, signer.full_name), payload.signed_at, reason, info)
        return self._record(ctx, owner, session_token, signer, key, challenge, payload, signature_b64, given)

    def _prepare(self, owner: Actor, session_token: str, challenge_id: str, given: Credentials) -> _Prepared:
        with self._uow(AuditContext(owner, self._clock.now())) as uow:
            challenge = self._own_challenge(uow, owner, session_token, challenge_id)
            session = uow.sessions.get(token_hash(session_token))
            idle = timedelta(minutes=GmpSettings.from_stored(uow.settings.stored())["session.idle_minutes"])
            if (
                session is None
                or session.ended_at is not None
                or owner.user_id is None
                or self._clock.now() - session.last_seen_at > idle
            ):
                # Continuity is the server's call (11.200(a)(1)): an idle session is no longer continuous.
                raise SignatureRefused("Your session has ended: log in again.")
            typed = given.username.strip().lower()
            signer: User | None
            if given.badge.strip():
                signer = self._badge_holder(uow, given.badge)
                typed = signer.username
            else:
                signer = uow.users.by_username(typed) if typed else uow.users.get(owner.user_id)
            if signer is None:
                raise SignatureRefused("Signature refused: the user id or password is wrong.")
            if not typed and not password_alone_suffices(True, session.signed_at is not None):
                raise SignatureRefused("First signature of this session: enter your user id and password.")
            self._check_person(uow, signer, challenge, given)
            signable = self._signable(challenge.object_type)
            return _Prepared(
                signer,
                uow.signing_keys.active_for(signer.id),
                challenge,
                uow.users.credentials(signer.id).password_hash,
                signable.audit_reason(uow, challenge.object_id),
                signable.policy_for(uow, challenge.object_id).content_hash,
            )

    @staticmethod
    def _badge_holder(uow: UnitOfWork, code: str) -> User:
        badge = uow.badges.by_hash(token_hash(code.strip()))
        if badge is None or badge.revoked_at is not None:
            raise SignatureRefused("This badge is unknown or revoked.")
        return uow.users.get(badge.user_id)

    def _check_person(self, uow: UnitOfWork, signer: User, challenge: Challenge, given: Credentials) -> None:
        if signer.must_change_password:
            raise SignatureRefused("A temporary or expired password cannot sign: change it first (11.300).")
        if not given.password:
            raise SignatureRefused("Every signature needs the password.")
        if not given.acknowledged and not uow.acknowledgements.has(signer.id):
            raise SignatureRefused("First signature: confirm that your electronic signature is legally binding.")
        policy = self._signable(challenge.object_type).policy_for(uow, challenge.object_id)
        earlier = [
            (s.meaning, s.signer_id) for s in uow.signatures.for_object(challenge.object_type, challenge.object_id)
        ]
        check_can_sign(policy, challenge.object_type, challenge.meaning, signer, earlier)

    def _refuse(self, signer: User, challenge: Challenge, problem: str, info: RequestInfo) -> None:
        now = self._clock.now()
        with self._uow(AuditContext(Actor(signer.id, signer.username, signer.full_name), now, request=info)) as uow:
            settings = GmpSettings.from_stored(uow.settings.stored())
            failures = uow.users.record_failure(signer.id)
            left = max(settings.lockout_policy.threshold - failures, 0)
            uow.audit.append(
                Action.SIGN_FAILED,
                challenge.object_type,
                challenge.object_id,
                field=challenge.meaning,
                reason=f"{problem}; {failures} consecutive failures",
            )
            if problem == "signing key cannot be unlocked":
                raise_alert(
                    uow,
                    "signing-key",
                    f"The password of {signer.username} matched its stored hash but "
                    "did not unlock the signing key: the password hash may have been replaced.",
                    self._clock,
                )
            locked = settings.lockout_policy.locks_after(failures)
            if locked:
                uow.users.lock(signer.id, now)
                # Whoever typed the wrong passwords may sit at an unattended session: lock it out too (11.300(d)).
                uow.sessions.end_all_for_user(signer.id, "account locked", now)
                uow.audit.append(Action.LOCKOUT, "user", str(signer.id), reason=f"{failures} failed authentications")
                raise_alert(
                    uow,
                    "lockout",
                    f"Account {signer.username} locked after {failures} failed authentications (signing).",
                    self._clock,
                )
            uow.commit()
        self._alerts.deliver_pending()
        if locked:  # "0 attempts left" would read as one more try: say the lock happened
            raise SignatureRefused(f"Signature refused: {problem}. The account is now locked: ask an administrator.")
        raise SignatureRefused(f"Signature refused: {problem}. {left} attempts left before the account locks.")

    def _record(
        self,
        ctx: AuditContext,
        owner: Actor,
        session_token: str,
        signer: User,
        key: StoredKey,
        challenge: Challenge,
        payload: SignedPayload,
        signature_b64: str,
        given: Credentials,
    ) -> StoredSignature:
        signable = self._signable(challenge.object_type)
        with self._uow(ctx) as uow:
            if not uow.challenges.use(challenge.id, payload.signed_at):
                raise Conflict("This signing request was already used (replay refused).")
            self._check_person(uow, uow.users.get(signer.id), challenge, given)
            if content_digest(signable.content(uow, challenge.object_id)) != challenge.content_hash:
                raise ContentChanged("The content changed after it was shown: review it again.")
            if not uow.acknowledgements.has(signer.id):
                uow.acknowledgements.add(signer.id, ACKNOWLEDGEMENT, payload.signed_at)
            policy = signable.policy_for(uow, challenge.object_id)
            stored = uow.signatures.add(
                StoredSignature(
                    0,
                    challenge.object_type,
                    challenge.object_id,
                    challenge.meaning,
                    policy.meaning(challenge.meaning).text,
                    challenge.content_hash,
                    signer.id,
                    signer.username,
                    signer.full_name,
                    payload.signed_at,
                    payload.policy_hash,
                    challenge.id,
                    signature_b64,
                    key.certificate_pem,
                )
            )
            signable.apply(uow, challenge.object_id, stored, ctx)
            uow.users.reset_failures(signer.id)
            if signer.id == owner.user_id:
                uow.sessions.mark_signed(token_hash(session_token), payload.signed_at)
            uow.audit.append(
                Action.SIGN,
                challenge.object_type,
                challenge.object_id,
                field=challenge.meaning,
                new=f"signature {stored.id}; content {challenge.content_hash}",
            )
            after = getattr(signable, "after_signed", None)
            if after is not None:  # e.g. an ERP posting, made from the record as this signature leaves it
                after(uow, challenge.object_id, stored, ctx)
            uow.commit()
        return stored
