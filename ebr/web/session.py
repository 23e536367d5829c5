"""Server-side sessions: the cookie carries a random token; the data and the idle clock live in the database."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, Request, current_app, g, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response

from ebr.app.context import RequestInfo
from ebr.app.services import Services
from ebr.app.sessions import ActiveSession

COOKIE = "ebr_session"
TERMINAL_COOKIE = "ebr_terminal"  # a registered terminal's token, set on the kiosk by the admin (DEV-05)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """The session dict of one request, with the token that keys it."""

    def __init__(
        self, data: dict[str, Any], token: str | None, active: ActiveSession | None, ended: bool = False
    ) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(data, on_update)
        self.token = token
        self.active = active
        self.ended = ended  # a cookie was presented but its session had ended or idled out
        self.new_token: str | None = None
        self.modified = False

    def switch_to(self, token: str) -> None:
        """Adopt a freshly created session (login): defeats session fixation."""
        self.new_token = token
        self.clear()
        self.modified = False


def current_session() -> ServerSession:
    """The concrete session of this request (behind Flask's proxy)."""
    from flask import session

    sess = getattr(session, "_get_current_object")()  # noqa: B009  # LocalProxy's accessor is untyped
    if not isinstance(sess, ServerSession):
        raise RuntimeError("the server-side session interface is not installed")
    return sess


def request_info(request: Request) -> RequestInfo:
    """Source address, workstation, terminal and a request id for the audit context (AUD-02, DEV-05)."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    workstation = (request.headers.get("X-Workstation", "") or request.headers.get("User-Agent", ""))[:200]
    address = request.remote_addr or ""
    registered = _registered_terminal(request)
    terminal = registered or workstation or address
    return RequestInfo(address, workstation, g.request_id, terminal, registered is not None)


def _registered_terminal(request: Request) -> str | None:
    # Resolved once per request: the session interface and the views both ask.
    if "registered_terminal" not in g:
        token = request.cookies.get(TERMINAL_COOKIE, "")
        services: Services = current_app.extensions["ebr.services"]
        g.registered_terminal = services.terminals.resolve(token) if token else None
    name: str | None = g.registered_terminal
    return name


class ServerSideSessionInterface(SessionInterface):
    """Loads and stores sessions through the application's SessionService."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(COOKIE)
        if token and len(token) <= 128:
            active = self._services.sessions.load(token, request_info(request))
            if active is not None:
                return ServerSession(dict(active.data), token, active)
            return ServerSession({}, None, None, ended=True)
        return ServerSession({}, None, None)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.new_token is not None:
            if session.token is not None:
                self._services.sessions.end(session.token, "replaced at login")
            if session:
                self._services.sessions.save(session.new_token, dict(session))
            self._set_cookie(app, response, session.new_token)
        elif session.token is None:
            if session.modified and session:
                token = self._services.sessions.start_anonymous(dict(session), request_info(request))
                self._set_cookie(app, response, token)
            elif session.ended:
                response.delete_cookie(COOKIE, path="/")
        elif session.modified:
            self._services.sessions.save(session.token, dict(session))

    def _set_cookie(self, app: Flask, response: Response, token: str) -> None:
        # No Expires: a browser-session cookie; the server alone decides the idle timeout (ACC-07).
        response.set_cookie(
            COOKIE, token, httponly=True, secure=bool(app.config["SESSION_COOKIE_SECURE"]), samesite="Strict", path="/"
        )


def clear_cookie(response: Response) -> None:
    """Remove the session cookie (logout)."""
    response.delete_cookie(COOKIE, path="/")
