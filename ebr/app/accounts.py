"""Account administration: create, grant, disable, reset, unlock (ACC-04, ACC-06, PWD-04)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from ebr.app.alerts import AlertService
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import AuditFilter, Badge, Clock, PasswordHasher, SigningKeys, UnitOfWork, UnitOfWorkFactory
from ebr.app.sessions import token_hash
from ebr.domain.accounts import Permission, Role, User, check_role_combination, normalise_username
from ebr.domain.audit import Action
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied


def require(actor_user: User, permission: Permission) -> None:
    """Server-side authority check (11.10(g)); the web layer checks too, this is the last line."""
    if permission not in actor_user.permissions:
        raise PermissionDenied(f"{actor_user.username} lacks the permission {permission}.")


def require_reason(reason: str) -> str:
    """A change after the original entry needs a why (AUD-02)."""
    cleaned = reason.strip()
    if len(cleaned) < 3:
        raise InvalidInput("A reason is required for this change.")
    return cleaned


@dataclass(frozen=True)
class AccessReviewRow:
    """One line of the periodic access review (PWD-03)."""

    user: User
    granted_by: str
    dormant: bool


class AccountService:
    """Use cases of the administrator on other people's accounts."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, hasher: PasswordHasher, alerts: AlertService, keys: SigningKeys
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._alerts = alerts
        self._keys = keys

    def _ctx(self, actor: Actor, reason: str, request: RequestInfo | None) -> AuditContext:
        return AuditContext(actor, self._clock.now(), reason, request or RequestInfo())

    def create_user(
        self,
        actor: Actor,
        username: str,
        full_name: str,
        roles: frozenset[Role],
        temporary_password: str,
        reason: str,
        request: RequestInfo | None = None,
        temporary: bool = True,
    ) -> User:
        """A new account with a one-time password; the id is unique forever, case-insensitively (ACC-04).

        Only the demo seed passes temporary=False; no web route can.
        """
        name = normalise_username(username)
        check_role_combination(roles)
        if not full_name.strip():
            raise InvalidInput("The printed full name is required.")
        pw_hash = self._hasher.hash(temporary_password)  # outside the transaction: slow on purpose
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            if uow.users.by_username(name) is not None:
                raise Conflict(f"The user id {name!r} exists or existed; user ids are never reused.")
            user = uow.users.add(name, full_name.strip(), roles, pw_hash, self._clock.now(), temporary)
            if not temporary:
                # Only the demo seed and tests create non-temporary passwords: the key is theirs to unlock.
                self._enroll(uow, user, temporary_password)
            uow.commit()
        return user

    def _enroll(self, uow: UnitOfWork, user: User, password: str) -> None:
        enrollment = self._keys.enroll(user.id, user.username, user.full_name, password, self._clock.now())
        stored = uow.signing_keys.add(user.id, enrollment, self._clock.now())
        uow.audit.append(
            Action.CERTIFICATE_ISSUED,
            "signing_key",
            str(stored.id),
            new=f"certificate serial {enrollment.serial} for {user.username}",
        )

    def set_roles(
        self, actor: Actor, user_id: int, roles: frozenset[Role], reason: str, request: RequestInfo | None = None
    ) -> None:
        """Grant or revoke roles, refusing combinations that break segregation of duties (ACC-03)."""
        check_role_combination(roles)
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            if actor.user_id == user_id:
                raise PermissionDenied("Nobody changes their own roles.")
            uow.users.set_roles(user_id, roles)
            uow.commit()

    def set_active(
        self, actor: Actor, user_id: int, active: bool, reason: str, request: RequestInfo | None = None
    ) -> None:
        """Disable (ends every session at once, PWD-04) or re-enable an account."""
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            if actor.user_id == user_id:
                raise PermissionDenied("Nobody disables their own account.")
            uow.users.set_active(user_id, active)
            if not active:
                uow.sessions.end_all_for_user(user_id, "account disabled", self._clock.now())
            uow.commit()

    def reset_password(self, actor: Actor, user_id: int, reason: str, request: RequestInfo | None = None) -> str:
        """Issue a one-time password the user must replace at first use; returns it once."""
        temporary = _temporary_password()
        pw_hash = self._hasher.hash(temporary)
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            if actor.user_id == user_id:
                raise PermissionDenied("Use change password for your own account.")
            now = self._clock.now()
            uow.users.set_password(user_id, pw_hash, temporary=True, at=now, history=0)
            uow.sessions.end_all_for_user(user_id, "password reset", now)
            key = uow.signing_keys.active_for(user_id)
            if key is not None:
                # The admin knows the temporary password: the user re-enrolls when they set their own (SIG-08).
                uow.signing_keys.revoke(key.id, "password reset by an administrator", now)
            revoked = f"; signing key {key.id} revoked" if key else ""
            uow.audit.append(Action.PASSWORD_RESET, "user", str(user_id), new=f"one-time password issued{revoked}")
            uow.commit()
        return temporary

    def unlock(self, actor: Actor, user_id: int, reason: str, request: RequestInfo | None = None) -> None:
        """Clear a lockout; audited with who and why (ACC-06)."""
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            uow.users.unlock(user_id)
            uow.audit.append(Action.UNLOCK, "user", str(user_id))
            uow.commit()

    def ensure_bootstrap_admin(self, username: str = "admin") -> str | None:
        """On an empty production database: one admin with a one-time password (ACC-05); None otherwise."""
        if self.list_users():
            return None
        temporary = _temporary_password()
        self.create_user(
            Actor.system(),
            username,
            "Bootstrap Administrator",
            frozenset({Role.ADMIN}),
            temporary,
            "bootstrap administrator of a new installation",
        )
        return temporary

    def issue_badge(
        self, actor: Actor, user_id: int, code: str, reason: str, request: RequestInfo | None = None
    ) -> Badge:
        """Issue (or replace) the user's badge; an earlier badge is revoked in the same act (PWD-08)."""
        cleaned = code.strip()
        if not 6 <= len(cleaned) <= 128:
            raise InvalidInput("A badge code has 6 to 128 characters.")
        now = self._clock.now()
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            if uow.badges.by_hash(token_hash(cleaned)) is not None:
                raise Conflict("This badge was issued before; badges are never reused.")
            for old in uow.badges.active_for(user_id):
                uow.badges.revoke(old.id, "replaced", now)
            badge = uow.badges.add(uow.users.get(user_id).id, token_hash(cleaned), now)
            uow.commit()
        return badge

    def revoke_badges(self, actor: Actor, user_id: int, reason: str, request: RequestInfo | None = None) -> int:
        """Revoke every active badge of the account at once (lost, stolen, leaver); returns how many."""
        with self._uow(self._ctx(actor, require_reason(reason), request)) as uow:
            self._actor_may_manage(uow.users.get(actor.user_id) if actor.user_id else None)
            active = uow.badges.active_for(uow.users.get(user_id).id)
            if not active:
                raise Conflict("This account has no active badge to revoke.")
            for badge in active:
                uow.badges.revoke(badge.id, reason, self._clock.now())
            uow.commit()
        return len(active)

    def active_badges(self, user_id: int) -> list[Badge]:
        """The account's badges not yet revoked (ids and issue times only: a code is stored as a hash)."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return sorted(uow.badges.active_for(user_id), key=lambda b: b.id)

    def list_users(self) -> list[User]:
        """Every account, active or not."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.users.list()

    def get(self, user_id: int) -> User:
        """One account."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.users.get(user_id)

    def access_review(self, dormant_days: int) -> list[AccessReviewRow]:
        """Roles, status, last login and who granted the roles, dormant accounts flagged (PWD-03)."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            rows = []
            for user in uow.users.list():
                history = uow.audit.query(AuditFilter(object_type="user", object_id=str(user.id)))
                grants = [e for e in history if e.draft.field == "roles"]
                granted_by = grants[-1].draft.username if grants else ""
                last = user.last_login_at or user.created_at
                rows.append(
                    AccessReviewRow(user, granted_by, user.active and now - last > timedelta(days=dormant_days))
                )
            return rows

    @staticmethod
    def _actor_may_manage(actor_user: User | None) -> None:
        if actor_user is not None:
            require(actor_user, Permission.USERS_MANAGE)


def _temporary_password() -> str:
    # Four character classes guaranteed, so any configured policy accepts it.
    return "T" + secrets.token_urlsafe(12) + "-7a"
