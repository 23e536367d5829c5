"""Login, logout and changing one's own password (21 CFR 11.300; PWD-02, PWD-05, PWD-06)."""

from __future__ import annotations

from dataclasses import dataclass

from ebr.app.alerts import AlertService, raise_alert
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, PasswordHasher, SigningKeys, UnitOfWork, UnitOfWorkFactory
from ebr.app.sessions import new_token, token_hash
from ebr.domain.accounts import User
from ebr.domain.audit import Action
from ebr.domain.configuration import GmpSettings
from ebr.domain.errors import AuthenticationFailed, InvalidInput

# One message for every refusal, so the response never tells whether a user id exists (PWD-06).
LOGIN_REFUSED = (
    "Login refused: the user id or password is wrong, or the account cannot log in now. "
    "Repeated failures lock the account; an administrator unlocks it."
)


@dataclass(frozen=True)
class LoginResult:
    """A new server-side session for an authenticated user."""

    token: str
    user: User


class AuthService:
    """Authentication use cases; hashing always happens outside the transaction."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, hasher: PasswordHasher, alerts: AlertService, keys: SigningKeys
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._alerts = alerts
        self._keys = keys
        self._dummy_hash = ""

    def login(self, username: str, password: str, request: RequestInfo) -> LoginResult:
        """Check the credentials and open a session, or record the failure and refuse."""
        tried = username.strip().lower()[:64]
        user, stored_hash = self._load_credentials(tried)
        # Verify against a dummy hash for unknown ids so timing does not reveal them either.
        matches = self._hasher.verify(stored_hash or self._dummy(), password) and user is not None
        now = self._clock.now()
        actor = Actor(user.id, user.username, user.full_name) if user else Actor(None, tried, "")
        with self._uow(AuditContext(actor, now, request=request)) as uow:
            outcome = self._decide(uow, tried, user, matches, request)
            uow.commit()
        if isinstance(outcome, str):
            self._alerts.deliver_pending()  # a lockout alert goes out within this request (PWD-05)
            raise AuthenticationFailed(LOGIN_REFUSED)
        return outcome

    def _load_credentials(self, tried: str) -> tuple[User | None, str | None]:
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            user = uow.users.by_username(tried)
            return (user, uow.users.credentials(user.id).password_hash) if user else (None, None)

    def _decide(
        self, uow: UnitOfWork, tried: str, user: User | None, matches: bool, request: RequestInfo
    ) -> LoginResult | str:
        now = self._clock.now()
        if user is None:
            return self._fail(uow, tried, None, "unknown user id", request)
        user = uow.users.get(user.id)  # fresh: another worker may have locked or disabled it
        policy = GmpSettings.from_stored(uow.settings.stored()).lockout_policy
        if user.locked_at is not None and not policy.still_locked(user.locked_at, now):
            uow.users.unlock(user.id)
            uow.audit.append(Action.UNLOCK, "user", str(user.id), reason="lock period elapsed")
            user = uow.users.get(user.id)
        if not user.active:
            return self._fail(uow, tried, user, "account disabled", request)
        if user.locked_at is not None:
            return self._fail(uow, tried, user, "account locked", request)
        if not matches:
            failures = uow.users.record_failure(user.id)
            if policy.locks_after(failures):
                self._lock(uow, user, failures)
            return self._fail(uow, tried, user, "wrong password", request)
        token = new_token()
        uow.users.record_login(user.id, now)
        uow.sessions.create(token_hash(token), user.id, {}, now, request.as_context())
        uow.login_attempts.add(tried, user.id, True, "", now, request.as_context())
        uow.audit.append(Action.LOGIN, "user", str(user.id))
        return LoginResult(token, uow.users.get(user.id))

    def record_throttled(self, username: str, request: RequestInfo) -> None:
        """A login refused by the rate limiter is recorded like any failed attempt, without a password check."""
        tried = username.strip().lower()[:64]
        with self._uow(AuditContext(Actor(None, tried, ""), self._clock.now(), request=request)) as uow:
            user = uow.users.by_username(tried)
            self._fail(uow, tried, user, "throttled", request)
            uow.commit()

    def _fail(self, uow: UnitOfWork, tried: str, user: User | None, reason: str, request: RequestInfo) -> str:
        now = self._clock.now()
        uow.login_attempts.add(tried, user.id if user else None, False, reason, now, request.as_context())
        uow.audit.append(Action.LOGIN_FAILED, "user", str(user.id) if user else tried, reason=reason)
        return reason

    def _lock(self, uow: UnitOfWork, user: User, failures: int) -> None:
        uow.users.lock(user.id, self._clock.now())
        uow.audit.append(Action.LOCKOUT, "user", str(user.id), reason=f"{failures} consecutive failed attempts")
        raise_alert(
            uow,
            "lockout",
            f"Account {user.username} ({user.full_name}) locked after {failures} consecutive failed authentications.",
            self._clock,
        )

    def logout(self, token: str, actor: Actor, request: RequestInfo) -> None:
        """End the session on every worker at once."""
        with self._uow(AuditContext(actor, self._clock.now(), request=request)) as uow:
            uow.sessions.end(token_hash(token), "logout", self._clock.now())
            uow.audit.append(Action.LOGOUT, "user", str(actor.user_id))
            uow.commit()

    def change_password(self, actor: Actor, current: str, new: str, token: str, request: RequestInfo) -> None:
        """Replace one's own password after re-entering the current one (PWD-02).

        The signing key follows the password: re-wrapped under the new one, or enrolled now when the
        user has none (first own password, or after an admin reset). A current password that matches
        the stored hash but cannot unlock the existing key means the hash was replaced: refused.
        """
        if actor.user_id is None:
            raise AuthenticationFailed("Not logged in.")
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            user = uow.users.get(actor.user_id)
            creds = uow.users.credentials(actor.user_id)
            policy = GmpSettings.from_stored(uow.settings.stored()).password_policy
            key = uow.signing_keys.active_for(actor.user_id)
        if not self._hasher.verify(creds.password_hash, current):
            raise InvalidInput("The current password is wrong.")
        policy.check(new, user.username)
        recent = [creds.password_hash, *list(creds.history)[: max(policy.history - 1, 0)]]
        if policy.history and any(self._hasher.verify(old, new) for old in recent):
            raise InvalidInput(f"Password: it must differ from the last {policy.history} passwords.")
        if key is not None and not self._keys.can_unwrap(key.wrapped, current):
            self._key_mismatch(user, request)
        now = self._clock.now()
        rewrapped = self._keys.rewrap(key.wrapped, current, new) if key else None
        enrollment = None if key else self._keys.enroll(user.id, user.username, user.full_name, new, now)
        new_hash = self._hasher.hash(new)
        with self._uow(AuditContext(actor, now, "changed by the user", request)) as uow:
            uow.users.set_password(actor.user_id, new_hash, temporary=False, at=now, history=policy.history)
            uow.audit.append(Action.PASSWORD_CHANGE, "user", str(actor.user_id))
            if key is not None and rewrapped is not None:
                uow.signing_keys.replace_wrapping(key.id, rewrapped)
            elif enrollment is not None:
                stored = uow.signing_keys.add(actor.user_id, enrollment, now)
                uow.audit.append(
                    Action.CERTIFICATE_ISSUED,
                    "signing_key",
                    str(stored.id),
                    new=f"certificate serial {enrollment.serial} for {user.username}",
                )
            uow.commit()

    def _key_mismatch(self, user: User, request: RequestInfo) -> None:
        with self._uow(
            AuditContext(Actor(user.id, user.username, user.full_name), self._clock.now(), request=request)
        ) as uow:
            uow.audit.append(
                Action.PASSWORD_CHANGE,
                "user",
                str(user.id),
                reason="refused: the password does not unlock the signing key",
            )
            raise_alert(
                uow,
                "signing-key",
                f"Password change of {user.username} refused: the password matches the "
                "stored hash but not the signing key, so the hash may have been replaced.",
                self._clock,
            )
            uow.commit()
        self._alerts.deliver_pending()
        raise InvalidInput(
            "Your signing key cannot be unlocked with this password. Contact QA: the password "
            "store may have been tampered with. No new key was enrolled."
        )

    def _dummy(self) -> str:
        if not self._dummy_hash:
            self._dummy_hash = self._hasher.hash("not-a-password-of-anyone")
        return self._dummy_hash
