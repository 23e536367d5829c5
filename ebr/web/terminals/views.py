"""Registered terminals: the admin registers the kiosk from the kiosk's own browser, which keeps a token cookie."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.session import TERMINAL_COOKIE
from ebr.web.terminals.forms import DeactivateForm, RegisterForm

bp = Blueprint("terminals", __name__, url_prefix="/admin/terminals")

# Browsers cap cookie lifetimes at 400 days; the kiosk keeps its identity until then or until deactivated.
COOKIE_MAX_AGE = 400 * 24 * 3600


def _checked(form: Any) -> Any:
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


@bp.route("/")
@page(Permission.TERMINAL_MANAGE)
def index() -> str:
    """Every terminal, and whether this browser is one."""
    return render_template(
        "terminals/index.html",
        terminals=services().terminals.list(),
        here=info(),
        register_form=RegisterForm(),
        deactivate_form=DeactivateForm(),
    )


@bp.route("/", methods=["POST"])
@page(Permission.TERMINAL_MANAGE)
def register() -> Response:
    """Register this browser as a terminal; its token goes into a cookie and is never shown."""
    form = _checked(RegisterForm())
    name = form.name.data.strip()
    token = services().terminals.register(actor(), name, form.location.data or "", form.reason.data, info())
    flash(f"This browser is now the registered terminal {name}.", "success")
    response = redirect(url_for("terminals.index"))
    # Secure whenever the request came over HTTPS, and wherever the session cookie is (behind a TLS proxy).
    secure = request.is_secure or bool(current_app.config["SESSION_COOKIE_SECURE"])
    response.set_cookie(
        TERMINAL_COOKIE, token, max_age=COOKIE_MAX_AGE, httponly=True, secure=secure, samesite="Strict", path="/"
    )
    return response


@bp.route("/<int:terminal_id>/deactivate", methods=["POST"])
@page(Permission.TERMINAL_MANAGE)
def deactivate(terminal_id: int) -> Response:
    """Stop trusting a terminal at once; entries made from it keep its name."""
    form = _checked(DeactivateForm())
    services().terminals.deactivate(actor(), terminal_id, form.reason.data, info())
    flash(f"Terminal {terminal_id} deactivated.", "success")
    return redirect(url_for("terminals.index"))
