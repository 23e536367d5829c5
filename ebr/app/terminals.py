"""Registered terminals (DEV-05, 21 CFR 11.10(h) terminal checks): a kiosk proves its identity with a token cookie.

Only the token's SHA-256 is stored, like API client tokens and badges: a copied table names no usable cookie.
"""

from __future__ import annotations

from ebr.app.accounts import require, require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import Clock, Terminal, UnitOfWork, UnitOfWorkFactory
from ebr.app.sessions import new_token, token_hash
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict, InvalidInput

MAX_NAME = 64
MAX_LOCATION = 200
MAX_TOKEN = 128  # anything longer was never issued here


def normalise_name(raw: str) -> str:
    """A terminal name as entries show it: trimmed, printable, 1 to 64 characters."""
    name = raw.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(f"A terminal name is required: at most {MAX_NAME} printable characters.")
    return name


class TerminalService:
    """Register and deactivate terminals; resolve a presented token to the terminal's name."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _open(self, actor: Actor, reason: str, request: RequestInfo | None) -> UnitOfWork:
        return self._uow(AuditContext(actor, self._clock.now(), require_reason(reason), request or RequestInfo()))

    @staticmethod
    def _authorise(uow: UnitOfWork, actor: Actor) -> None:
        if actor.user_id is not None:
            require(uow.users.get(actor.user_id), Permission.TERMINAL_MANAGE)

    def register(self, actor: Actor, name: str, location: str, reason: str, request: RequestInfo | None = None) -> str:
        """Register a terminal; returns its token, shown once (the registering browser keeps it as a cookie)."""
        cleaned = normalise_name(name)
        place = location.strip()
        if len(place) > MAX_LOCATION or not place.isprintable():
            raise InvalidInput(f"A location has at most {MAX_LOCATION} printable characters.")
        token = "ebrt_" + new_token()
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor)
            if uow.terminals.by_name(cleaned) is not None:
                raise Conflict(f"A terminal named {cleaned!r} exists or existed; terminal names are never reused.")
            uow.terminals.add(cleaned, place, token_hash(token), actor.user_id, self._clock.now())
            uow.commit()
        return token

    def deactivate(self, actor: Actor, terminal_id: int, reason: str, request: RequestInfo | None = None) -> None:
        """Stop trusting a terminal at once (lost, replaced, moved); its entries keep its name."""
        with self._open(actor, reason, request) as uow:
            self._authorise(uow, actor)
            if not uow.terminals.get(terminal_id).active:
                raise Conflict(f"Terminal {terminal_id} is already deactivated.")
            uow.terminals.set_active(terminal_id, False)
            uow.commit()

    def resolve(self, token: str) -> str | None:
        """The name of the active terminal this token was issued to, or None."""
        if not token or len(token) > MAX_TOKEN:
            return None
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            terminal = uow.terminals.by_token_hash(token_hash(token))
        return terminal.name if terminal is not None and terminal.active else None

    def list(self) -> list[Terminal]:
        """Every terminal, active or not, by name."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.terminals.list()
