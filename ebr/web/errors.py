"""Refusals to HTTP: a clear page (or JSON for the API), never a 500 for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ebr.domain.equipment import DeviceFault
from ebr.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PasswordChangeRequired,
    PermissionDenied,
    SessionEnded,
)
from ebr.domain.signatures import ContentChanged, SignatureRefused

STATUS: list[tuple[type[DomainError], int]] = [
    (ContentChanged, 409),
    (SignatureRefused, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (AuthenticationFailed, 401),
    (SessionEnded, 401),
    (PasswordChangeRequired, 403),
    (InvalidInput, 422),
    (DeviceFault, 503),  # the device, not the request, failed: the same capture may succeed when retried
]


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain refusal."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


def render_error(status: int, title: str, message: str) -> tuple[Response | str, int]:
    """JSON for the API, a page for people."""
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Response | str, int]:
        status = status_of(error)
        return render_error(status, type(error).__name__, str(error))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return render_error(
            400,
            "Form expired or forged",
            "The form's security token is missing or invalid. Reload the page and submit again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int] | tuple[Response | str, int, dict[str, str]]:
        # The limiter adds Retry-After to this response in its after_request hook (PWD-07).
        if error.code == 429:
            if request.endpoint == "auth.login":
                # A throttled login is a failed attempt too: recorded with the id tried and its source (PWD-06).
                _record_throttled_login()
            return render_error(429, "Too many attempts", "Too many attempts. Wait a minute and try again.")
        body, status = render_error(error.code or 500, error.name, error.description or "")
        # Keep protocol headers such as Allow on 405 (RFC 9110 requires it).
        headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "www-authenticate")}
        return body, status, headers


def _record_throttled_login() -> None:
    from ebr.web.principal import info, services

    services().auth.record_throttled(request.form.get("username", ""), info())
