"""The logged-in person as Flask-Login sees them, and the actor passed to every use case."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import AnonymousUserMixin, UserMixin, current_user

from ebr.app.clients import client_actor
from ebr.app.context import Actor, RequestInfo
from ebr.app.ports import ApiClient
from ebr.app.services import Services
from ebr.domain.accounts import User
from ebr.web.session import ServerSession, current_session, request_info


class WebUser(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type information
    """A domain User behind Flask-Login's interface."""

    def __init__(self, user: User, needs_password_change: bool) -> None:
        self.user = user
        self.needs_password_change = needs_password_change

    def get_id(self) -> str:
        return str(self.user.id)


def load_from_session(_request: object) -> WebUser | None:
    """Flask-Login request loader: the user comes from the server-side session only (no remember-me)."""
    sess = current_session()
    if isinstance(sess, ServerSession) and sess.active is not None and sess.active.user is not None:
        return WebUser(sess.active.user, sess.active.needs_password_change)
    return None


def services() -> Services:
    """The application services bound to this app."""
    svc = current_app.extensions["ebr.services"]
    assert isinstance(svc, Services)
    return svc


def actor() -> Actor:
    """The person acting in this request."""
    if current_user.is_authenticated:
        u: User = current_user.user
        return Actor(u.id, u.username, u.full_name)
    client = g.get("api_client")
    if isinstance(client, ApiClient):
        return client_actor(client)
    return Actor(None, "anonymous", "")


def info() -> RequestInfo:
    """Request context for audit entries."""
    return request_info(request)


class Anonymous(AnonymousUserMixin):  # type: ignore[misc]  # Flask-Login ships no type information
    """Nobody is logged in."""

    needs_password_change = False
