"""Server-side sessions: idle timeout from the app's Clock, revocation on every worker (ACC-07, PWD-04)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, UnitOfWorkFactory
from ebr.domain.accounts import User
from ebr.domain.audit import Action
from ebr.domain.configuration import GmpSettings


def new_token() -> str:
    """An unguessable session token; only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The database key of a session or API token: a stolen table yields no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A live session as the web layer sees it."""

    data: Mapping[str, object]
    user: User | None
    needs_password_change: bool


class SessionService:
    """Loads, refreshes and saves sessions; ends idle ones with an audit entry."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def load(self, token: str, request: RequestInfo) -> ActiveSession | None:
        """The live session for this token, refreshed; None when it ended, idled out or its user is disabled."""
        now = self._clock.now()
        key = token_hash(token)
        with self._uow(AuditContext(Actor.system(), now, request=request)) as uow:
            stored = uow.sessions.get(key)
            if stored is None or stored.ended_at is not None:
                return None
            settings = GmpSettings.from_stored(uow.settings.stored())
            user = uow.users.get(stored.user_id) if stored.user_id is not None else None
            if now - stored.last_seen_at > timedelta(minutes=settings["session.idle_minutes"]):
                uow.sessions.end(key, "idle timeout", now)
                if user is not None:
                    uow.audit.append(
                        Action.SESSION_TIMEOUT,
                        "user",
                        str(user.id),
                        reason=f"idle over {settings['session.idle_minutes']} min",
                    )
                uow.commit()
                return None
            if user is not None and not user.active:
                return None
            uow.sessions.touch(key, stored.data, now)
            uow.commit()
        expired = user is not None and settings.password_policy.is_expired(user.password_changed_at, now)
        needs_change = user is not None and (user.must_change_password or expired)
        return ActiveSession(stored.data, user, needs_change)

    def start_anonymous(self, data: Mapping[str, object], request: RequestInfo) -> str:
        """A pre-login session (it holds the CSRF secret of the login form)."""
        token = new_token()
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now, request=request)) as uow:
            uow.sessions.create(token_hash(token), None, data, now, request.as_context())
            uow.commit()
        return token

    def save(self, token: str, data: Mapping[str, object]) -> None:
        """Store changed session data."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            uow.sessions.touch(token_hash(token), data, now)
            uow.commit()

    def end(self, token: str, reason: str) -> None:
        """End a session without a user (e.g. the pre-login one after login)."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            uow.sessions.end(token_hash(token), reason, now)
            uow.commit()
