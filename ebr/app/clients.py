"""Machine clients (the ERP) authenticate with bearer tokens: no cookies, no CSRF, permission per route."""

from __future__ import annotations

from ebr.app.accounts import require_reason
from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import ApiClient, Clock, UnitOfWorkFactory
from ebr.app.sessions import new_token, token_hash
from ebr.domain.accounts import Permission
from ebr.domain.audit import Action
from ebr.domain.errors import InvalidInput, NotFound

API_PERMISSIONS = frozenset({Permission.ERP_INBOUND, Permission.SYSTEM_READ})


def client_actor(client: ApiClient) -> Actor:
    """The audit trail's actor for a machine client: its id and name, never a person."""
    return Actor(None, f"api-client-{client.id}", client.name)


class ApiClientService:
    """Issue, look up and revoke machine-client tokens."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def issue(
        self, actor: Actor, name: str, permissions: frozenset[str], reason: str, request: RequestInfo | None = None
    ) -> str:
        """A new token, shown once; only its hash is stored."""
        unknown = permissions - {str(p) for p in API_PERMISSIONS}
        if unknown or not permissions:
            raise InvalidInput(f"API permissions must be among {sorted(str(p) for p in API_PERMISSIONS)}.")
        if not name.strip():
            raise InvalidInput("A client name is required.")
        token = "ebr_" + new_token()
        with self._uow(AuditContext(actor, self._clock.now(), require_reason(reason), request or RequestInfo())) as uow:
            uow.api_clients.add(name.strip(), token_hash(token), permissions, self._clock.now())
            uow.commit()
        return token

    def authenticate(self, token: str) -> ApiClient | None:
        """The client a bearer token belongs to, unless revoked."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            client = uow.api_clients.by_token_hash(token_hash(token))
        return client if client and not client.revoked else None

    def record_refused(self, token: str, what: str, request: RequestInfo | None = None) -> None:
        """A request without a valid token is a failed authentication, audited like a failed login (PWD-06)."""
        anonymous = Actor(None, "anonymous", "")
        with self._uow(AuditContext(anonymous, self._clock.now(), request=request or RequestInfo())) as uow:
            client = uow.api_clients.by_token_hash(token_hash(token)) if token else None
            why = "revoked API token" if client else ("unknown API token" if token else "no API token")
            object_id = str(client.id) if client else "-"
            uow.audit.append(Action.LOGIN_FAILED, "api_client", object_id, new=what[:200], reason=why)
            uow.commit()

    def list(self) -> list[ApiClient]:
        """Every machine client, revoked or not (there is no delete)."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.api_clients.list()

    def revoke(self, actor: Actor, client_id: int, reason: str, request: RequestInfo | None = None) -> None:
        """Revoke at once (PWD-04), with the reason."""
        why = require_reason(reason)
        with self._uow(AuditContext(actor, self._clock.now(), why, request or RequestInfo())) as uow:
            client = next((c for c in uow.api_clients.list() if c.id == client_id), None)
            if client is None:
                raise NotFound(f"No API client {client_id}.")
            if client.revoked:
                raise InvalidInput(f"API client {client.name} is already revoked.")
            uow.api_clients.revoke(client_id, self._clock.now())
            uow.commit()
