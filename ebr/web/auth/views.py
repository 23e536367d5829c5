"""Login, logout and change password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.configuration import GmpSettings
from ebr.domain.errors import AuthenticationFailed, InvalidInput
from ebr.web.auth.forms import ChangePasswordForm, LoginForm
from ebr.web.extensions import limiter
from ebr.web.principal import actor, info, services
from ebr.web.routes import page, public
from ebr.web.session import ServerSession, clear_cookie, current_session

bp = Blueprint("auth", __name__)


def _settings() -> GmpSettings:
    return services().settings.current()


def _per_account_limit() -> str:
    return f"{_settings()['throttle.login_per_minute_account']} per minute"


def _per_address_limit() -> str:
    return f"{_settings()['throttle.login_per_minute_address']} per minute"


def _account_key() -> str:
    return "login-account:" + request.form.get("username", "").strip().lower()[:64]


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would help phishing. Browsers read "\\" as "/" and drop
    # tabs and newlines, so "/\\evil.example" or "/<TAB>/evil.example" would leave the site: refuse those too.
    target = target or ""
    local = target.startswith("/") and not target.startswith("//")
    if local and target.isprintable() and "\\" not in target:
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@public()
@limiter.limit(_per_address_limit, methods=["POST"])
@limiter.limit(_per_account_limit, methods=["POST"], key_func=_account_key)
def login() -> Response | str | tuple[str, int]:
    """The login form; failures are counted, audited and answered identically (PWD-06)."""
    form = LoginForm()
    sess = current_session()
    assert isinstance(sess, ServerSession)
    if request.method == "GET" and (sess.ended or request.args.get("ended") == "1"):
        flash("Your session ended (logged out, timed out or revoked). Log in again.", "info")
    if request.method == "GET" and request.args.get("logged_out") == "1":
        flash("You are logged out.", "info")
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    try:
        result = services().auth.login(form.username.data, form.password.data, info())
    except AuthenticationFailed as refused:
        return render_template("auth/login.html", form=form, error=str(refused)), 401
    sess.switch_to(result.token)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
@page(Permission.SELF)
def logout() -> Response:
    """End the session everywhere."""
    sess = current_session()
    assert isinstance(sess, ServerSession) and sess.token is not None
    services().auth.logout(sess.token, actor(), info())
    sess.token = None
    sess.clear()
    sess.modified = False
    response = redirect(url_for("auth.login", logged_out="1"))
    clear_cookie(response)
    return response


@bp.route("/password", methods=["GET", "POST"])
@page(Permission.SELF)
def change_password() -> Response | str | tuple[str, int]:
    """Set one's own password; required first when it is temporary or expired."""
    form = ChangePasswordForm()
    policy = _settings().password_policy
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/change_password.html", form=form, policy=policy), status
    sess = current_session()
    assert isinstance(sess, ServerSession) and sess.token is not None
    try:
        services().auth.change_password(actor(), form.current.data, form.new.data, sess.token, info())
    except InvalidInput as refused:
        return render_template("auth/change_password.html", form=form, policy=policy, error=str(refused)), 422
    flash("Password changed.", "success")
    return redirect(url_for("main.home"))
