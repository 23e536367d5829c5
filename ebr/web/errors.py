"""Refusals to HTTP: a clear page (or JSON for the API), never a 500 for bad input."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ebr.app.documents import DocumentIntegrityError
from ebr.app.incidents import SystemFailure
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

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"

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


def correlation_id() -> str:
    """This request's id: in its audit entries, its incidents, its error page and its X-Request-ID header."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    return str(g.request_id)


def render_error(status: int, title: str, message: str, correlation: str = "") -> tuple[Response | str, int]:
    """JSON for the API, a page for people."""
    if request.path.startswith("/api/"):
        body = {"error": title, "message": message} | ({"correlation_id": correlation} if correlation else {})
        return jsonify(body), status
    page = render_template("error.html", status=status, title=title, message=message, correlation_id=correlation)
    return page, status


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Response | str, int]:
        status = status_of(error)
        return render_error(status, type(error).__name__, str(error))

    app.after_request(_add_request_id)
    app.register_error_handler(DocumentIntegrityError, _document_integrity)
    # Everything no other handler claims: an incident with this request's correlation id (OPS-01).
    app.register_error_handler(Exception, _unhandled)

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


def _add_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = correlation_id()
    return response


def _record(failure: SystemFailure) -> None:
    from ebr.web.principal import services

    services().incidents.record_failure(failure)  # its own transaction; never raises


def _where() -> str:
    return f"{request.method} {request.endpoint or request.path}"


def _document_integrity(error: DocumentIntegrityError) -> tuple[Response | str, int]:
    correlation = correlation_id()
    log.error("stored document failed its integrity check (%s): %s", correlation, error)
    _record(
        SystemFailure(
            f"document_integrity:{str(error)[:150]}",
            "document_integrity",
            "A stored record PDF no longer matches its SHA-256",
            f"{error}. Seen at {_where()}; the copy was not handed out.",
            correlation,
        )
    )
    return render_error(
        409,
        "Stored document failed its integrity check",
        "This stored PDF no longer matches the SHA-256 recorded when it was stored, so it is not handed out. "
        "QA and the administrator have been told (an incident was opened).",
        correlation,
    )


def _unhandled(error: Exception) -> tuple[Response | str, int]:
    correlation = correlation_id()
    log.exception("unhandled %s at %s (%s)", type(error).__name__, _where(), correlation, exc_info=error)
    from ebr.web.principal import services

    # One incident per fault, place and hour: a failing page hit a hundred times is one incident seen 100 times.
    window = services().clock.now().strftime("%Y%m%dT%H")
    name = type(error).__name__
    _record(
        SystemFailure(
            f"unhandled:{name}:{request.endpoint or request.path}:{window}"[:200],
            "unhandled_exception",
            f"Unhandled {name} at {_where()}",
            f"{name}: {str(error)[:500]}",
            correlation,
        )
    )
    return _safely(
        500,
        "Internal error",
        "The request failed on the server. The administrator and QA have been told; quote the correlation id below.",
        correlation,
    )


def _safely(status: int, title: str, message: str, correlation: str) -> tuple[Response | str, int]:
    """The error page, or plain text when the page itself cannot be made (the database may be what failed)."""
    try:
        return render_error(status, title, message, correlation)
    except Exception:  # the original error is logged already; this one must not replace the answer
        log.exception("the error page could not be rendered (%s)", correlation)
        return Response(f"{title}. {message} Correlation id: {correlation}", status, mimetype="text/plain"), status


def _record_throttled_login() -> None:
    from ebr.web.principal import info, services

    services().auth.record_throttled(request.form.get("username", ""), info())
