"""Refusals to HTTP: a clear page (or JSON for the API), never a 500 for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

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

STATUS: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (AuthenticationFailed, 401),
    (SessionEnded, 401),
    (PasswordChangeRequired, 403),
    (InvalidInput, 422),
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
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        # The limiter adds Retry-After to this response in its after_request hook (PWD-07).
        if error.code == 429:
            return render_error(429, "Too many attempts", "Too many attempts. Wait a minute and try again.")
        return render_error(error.code or 500, error.name, error.description or "")
