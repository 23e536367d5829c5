"""The application factory: create_app(settings) builds everything; nothing happens at import."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from ebr.bootstrap import Runtime, build
from ebr.config import Settings, from_env
from ebr.domain.accounts import Permission
from ebr.web import errors
from ebr.web.extensions import csrf, limiter, login_manager
from ebr.web.principal import Anonymous, actor, info, load_from_session, services
from ebr.web.routes import Access, access_of, public
from ebr.web.session import ServerSideSessionInterface, current_session

MAX_FORM_BYTES = 64 * 1024
# Uploaded BPMN and step attachments may be larger than a form; each service refuses more than 5 MB itself with a
# clear message.
MAX_UPLOAD_BYTES = 6 * 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"procedures.upload", "procedures.revise", "batches.attach"})
# ERP messages: the view reads the body under the message limit itself, after the client is authenticated, so an
# oversized message is refused (413) and audited in the client's name rather than cut off before anyone is known.
VIEW_READS_BODY = frozenset({"erp.orders", "erp.materials"})
VIEW_BODY_CEILING = 1 << 40  # never reached: such a view stops reading one byte past its own limit
# While a password is temporary or expired, only these endpoints answer (PWD-02).
DURING_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.logout"})


class DatabaseId(IntegerConverter):
    """<int:...> capped at 2**31-1, the range of an INTEGER primary key on every supported database."""

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits, min, 2**31 - 1 if max is None else max, signed)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the Flask app for these settings (or an already built runtime, in tests)."""
    runtime = runtime or build(settings or from_env())
    app = Flask(__name__)
    # Ids in URLs stay within the database's INTEGER range: /admin/users/99999999999999999999 is a 404,
    # not an OverflowError (SQLite) or DataError (PostgreSQL) answered with a 500. Before any route is added.
    app.url_map.converters["int"] = DatabaseId
    app.config.update(
        SECRET_KEY=runtime.settings.secret_key,
        SESSION_COOKIE_SECURE=runtime.settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the server-side session, which idles out
        RATELIMIT_STORAGE_URI=runtime.limiter_storage_uri,
        RATELIMIT_STORAGE_OPTIONS=runtime.limiter_storage_options,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    if runtime.settings.trusted_proxies:
        # Behind a TLS-terminating proxy: believe its X-Forwarded-* headers, and only from that many hops.
        n = runtime.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config["EBR_FORCE_HTTPS"] = runtime.settings.force_https
    app.extensions["ebr.services"] = runtime.services
    app.extensions["ebr.runtime"] = runtime
    app.session_interface = ServerSideSessionInterface(runtime.services)
    app.before_request(_require_https)  # 11.30: nothing but the health probe answers over plain HTTP
    # Then: every later hook may read the body, which is then parsed under the request's own limit.
    app.before_request(_allow_uploads)
    app.before_request(_refuse_nul_bytes)  # the limiter's hook already stores the typed user id
    # Registered before CSRFProtect's hook: a request without a live session must get 401 / the login
    # redirect (ACC-01, ACC-07), not "form expired" (400); CSRF is still checked on every POST that passes.
    app.before_request(_enforce_route_class)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.request_loader(load_from_session)
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = None  # the server-side session, rotated at login, is the protection
    _register_blueprints(app)
    errors.register(app)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    _check_every_route_declared(app)
    runtime.services.system.record_startup("web")
    return app


def _register_blueprints(app: Flask) -> None:
    from ebr.web.admin.erp import bp as erp_postings_bp
    from ebr.web.admin.views import bp as admin_bp
    from ebr.web.api.erp import bp as erp_bp
    from ebr.web.api.views import bp as api_bp
    from ebr.web.auth.views import bp as auth_bp
    from ebr.web.batches.views import bp as batches_bp
    from ebr.web.documents.views import bp as documents_bp
    from ebr.web.equipment.views import bp as equipment_bp
    from ebr.web.genealogy.views import bp as genealogy_bp
    from ebr.web.incidents.views import bp as incidents_bp
    from ebr.web.main.views import bp as main_bp
    from ebr.web.materials.views import bp as materials_bp
    from ebr.web.orders.views import bp as orders_bp
    from ebr.web.procedures.views import bp as procedures_bp
    from ebr.web.review.views import bp as review_bp
    from ebr.web.signing.views import bp as signing_bp
    from ebr.web.terminals.views import bp as terminals_bp
    from ebr.web.trail.views import bp as trail_bp
    from ebr.web.training.views import bp as training_bp

    for bp in (auth_bp, main_bp, admin_bp, trail_bp, api_bp, signing_bp, procedures_bp):
        app.register_blueprint(bp)
    for bp in (materials_bp, orders_bp):
        app.register_blueprint(bp)
    for bp in (incidents_bp, training_bp, terminals_bp, equipment_bp):
        app.register_blueprint(bp)
    app.register_blueprint(batches_bp)
    app.register_blueprint(genealogy_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(erp_bp)
    app.register_blueprint(erp_postings_bp)
    csrf.exempt(api_bp)  # bearer-token clients send no cookies, so there is nothing to forge
    csrf.exempt(erp_bp)
    public()(app.view_functions["static"])


def _allow_uploads() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_UPLOAD_BYTES
    elif request.endpoint in VIEW_READS_BODY:
        request.max_content_length = VIEW_BODY_CEILING


def _check_every_route_declared(app: Flask) -> None:
    missing = [
        rule.endpoint for rule in app.url_map.iter_rules() if access_of(app.view_functions[rule.endpoint]) is None
    ]
    if missing:
        raise RuntimeError(f"routes without a declared class: {missing}")


def route_access(endpoint: str | None) -> Access | None:
    """The declared class of the endpoint handling this request."""
    if endpoint is None:
        return None
    return access_of(current_app.view_functions[endpoint])


def _refuse_nul_bytes() -> None:
    # PostgreSQL text cannot hold NUL (0x00): such input failed deep in the database as a 500. No field needs it.
    fields = [request.path, *request.args.keys(), *request.form.keys()]
    fields += [v for values in (*request.args.listvalues(), *request.form.listvalues()) for v in values]
    fields += [request.headers.get(h, "") for h in ("X-Workstation", "User-Agent")]  # stored as the workstation
    if any("\x00" in f for f in fields):
        abort(400, "The request contains a NUL character, which no field accepts.")


def _enforce_route_class() -> Response | None:
    access = route_access(request.endpoint)
    if access is None:
        return None  # no route matched: Flask answers 404/405 itself
    if access.kind == "public":
        return None
    if access.kind == "api":
        _enforce_api(access)
        return None
    return _enforce_page(access)


def _enforce_api(access: Access) -> None:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    client = services().api_clients.authenticate(token) if token else None
    if client is None:
        services().api_clients.record_refused(token, f"{request.method} {request.path}", info())
        abort(401, "A valid API token is required (Authorization: Bearer ...).")
    g.api_client = client  # from here on, actor() is this client
    if access.permission is None or str(access.permission) not in client.permissions:
        services().record_denial(actor(), f"{request.method} {request.path}", info())
        abort(403, f"This API client lacks the permission {access.permission}.")


def _enforce_page(access: Access) -> Response | None:
    if not current_user.is_authenticated:
        # A machine caller of a session route under /api/ gets the documented 401, not the login page.
        if request.method == "GET" and not request.path.startswith("/api/"):
            # The cookie of an ended session is cleared in this very response, so tell the login page here.
            ended = "1" if current_session().ended else None
            target = request.full_path.rstrip("?")
            return redirect(url_for("auth.login", next=target, ended=ended))
        abort(401, "Log in first; your session has ended.")
    if current_user.needs_password_change and request.endpoint not in DURING_PASSWORD_CHANGE:
        if request.method == "GET":
            return redirect(url_for("auth.change_password"))
        abort(403, "Change your password first.")
    permission: Permission | None = access.permission
    if permission is None or permission not in current_user.user.permissions:
        services().record_denial(actor(), f"{request.method} {request.path}", info())
        abort(403, f"Your roles do not include the permission {permission}.")
    return None


def _require_https() -> Response | None:
    if not current_app.config["EBR_FORCE_HTTPS"] or request.is_secure or request.endpoint == "api.health":
        return None
    # 308 keeps the method and body, so a form posted over HTTP is not silently turned into a GET.
    return redirect(request.url.replace("http://", "https://", 1), code=308)


def _security_headers(response: Response) -> Response:
    if current_app.config["EBR_FORCE_HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _template_globals() -> dict[str, Any]:
    return {"version": services().system.version, "current_user": current_user, "Permission": Permission}
