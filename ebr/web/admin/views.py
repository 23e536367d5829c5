"""User administration, GMP settings and machine clients: server-side permission on every route."""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from ebr.domain.accounts import Permission, Role
from ebr.domain.errors import DomainError, InvalidInput
from ebr.web.admin.forms import ApiClientForm, BadgeForm, DiffForm, NewUserForm, ReasonForm, RolesForm, SettingForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.signing.views import start as start_signing

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@page(Permission.USERS_MANAGE)
def users() -> str:
    """Every account, active or not; there is no delete."""
    return render_template("admin/users.html", users=services().accounts.list_users())


@bp.route("/users/new", methods=["GET", "POST"])
@page(Permission.USERS_MANAGE)
def new_user() -> BaseResponse | str | tuple[str, int]:
    """Create an account with a one-time password."""
    form = NewUserForm()
    if not form.validate_on_submit():
        return render_template("admin/user_new.html", form=form), (422 if request.method == "POST" else 200)
    try:
        user = services().accounts.create_user(
            actor(),
            form.username.data,
            form.full_name.data,
            frozenset(Role(r) for r in form.roles.data),
            form.temporary_password.data,
            form.reason.data,
            info(),
        )
    except DomainError as refused:
        return render_template("admin/user_new.html", form=form, error=str(refused)), 422
    flash(f"Account {user.username} created; the user must set a new password at first login.", "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>")
@page(Permission.USERS_MANAGE)
def user(user_id: int) -> str:
    """One account with its actions."""
    target = services().accounts.get(user_id)
    roles_form = RolesForm(roles=sorted(str(r) for r in target.roles))
    return render_template(
        "admin/user.html",
        target=target,
        roles_form=roles_form,
        reason_form=ReasonForm(),
        badge_form=BadgeForm(),
        badges=services().accounts.active_badges(user_id),
    )


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@page(Permission.USERS_MANAGE)
def set_roles(user_id: int) -> BaseResponse:
    """Grant or revoke roles (segregation of duties checked)."""
    form = _valid(RolesForm())
    services().accounts.set_roles(
        actor(), user_id, frozenset(Role(r) for r in form.roles.data), form.reason.data, info()
    )
    flash("Roles changed.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/<any(disable,enable,unlock,reset):action>", methods=["POST"])
@page(Permission.USERS_MANAGE)
def account_action(user_id: int, action: str) -> BaseResponse:
    """Disable, enable, unlock or reset a password, each with a reason."""
    form = _valid(ReasonForm())
    accounts = services().accounts
    if action in ("disable", "enable"):
        accounts.set_active(actor(), user_id, action == "enable", form.reason.data, info())
    elif action == "unlock":
        accounts.unlock(actor(), user_id, form.reason.data, info())
    else:
        temporary = accounts.reset_password(actor(), user_id, form.reason.data, info())
        flash(f"One-time password (shown once, give it to the user in person): {temporary}", "warning")
    flash(f"Done: {action}.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/badge", methods=["POST"])
@page(Permission.USERS_MANAGE)
def issue_badge(user_id: int) -> BaseResponse:
    """Issue or replace the badge; the earlier one is revoked in the same act (PWD-08)."""
    form = _valid(BadgeForm())
    services().accounts.issue_badge(actor(), user_id, form.code.data, form.reason.data, info())
    # The code is never echoed: only its hash is stored, and this page does not repeat it.
    flash("Badge issued; any earlier badge of this account is revoked.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/badge/revoke", methods=["POST"])
@page(Permission.USERS_MANAGE)
def revoke_badge(user_id: int) -> BaseResponse:
    """Revoke the account's active badge(s) at once: lost, stolen, damaged or a leaver."""
    form = _valid(ReasonForm())
    count = services().accounts.revoke_badges(actor(), user_id, form.reason.data, info())
    flash(f"Badge revoked ({count}).", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/access-review")
@page(Permission.USERS_MANAGE)
def access_review() -> str:
    """Periodic review of who holds which roles (PWD-03)."""
    dormant_days = services().settings.current()["accounts.dormant_days"]
    return render_template(
        "admin/access_review.html", rows=services().accounts.access_review(dormant_days), dormant_days=dormant_days
    )


@bp.route("/settings", methods=["GET", "POST"])
@page(Permission.SETTINGS_MANAGE)
def settings() -> BaseResponse | str | tuple[str, int]:
    """The GMP settings; each change needs a reason and is audited with old and new values."""
    form = SettingForm()
    if form.validate_on_submit():
        try:
            change = services().settings.request_change(
                actor(), form.key.data, form.value.data, form.reason.data, info()
            )
        except DomainError as refused:
            return _settings_page(form, str(refused)), 422
        # The change takes effect only when signed (meaning 'approved' on setting_change).
        return start_signing("setting_change", str(change.id), "approved")
    if request.method == "POST":
        return _settings_page(form, "Every field, including the reason, is required."), 422
    return _settings_page(form, "")


def _settings_page(form: SettingForm, error: str) -> str:
    from ebr.domain.configuration import SPECS

    return render_template(
        "admin/settings.html",
        form=form,
        error=error,
        specs=SPECS,
        current=services().settings.current(),
        diff_form=DiffForm(),
    )


@bp.route("/settings/export")
@page(Permission.SETTINGS_MANAGE)
def settings_export() -> Response:
    """The configuration as JSON, for review and as a baseline (VAL-05)."""
    return Response(
        services().settings.export(),
        mimetype="application/json",
        headers={"Content-Disposition": "attachment; filename=ebr-configuration.json"},
    )


@bp.route("/settings/diff", methods=["POST"])
@page(Permission.SETTINGS_MANAGE)
def settings_diff() -> str | tuple[str, int]:
    """Differences between a baseline export and the configuration in force."""
    form = DiffForm()
    if not form.validate_on_submit():
        return _settings_page(SettingForm(), "Paste a baseline export."), 422
    changes = services().settings.diff_against(form.baseline.data)
    return render_template("admin/settings_diff.html", changes=changes)


@bp.route("/api-clients", methods=["GET", "POST"])
@page(Permission.USERS_MANAGE)
def api_clients() -> str | tuple[str, int]:
    """Issue bearer tokens to machine clients (shown once)."""
    form = ApiClientForm()
    token = ""
    if form.validate_on_submit():
        perms = {p for p, on in (("erp.inbound", form.erp_inbound.data), ("system.read", form.system_read.data)) if on}
        try:
            token = services().api_clients.issue(actor(), form.name.data, frozenset(perms), form.reason.data, info())
        except DomainError as refused:
            flash(str(refused), "error")
    elif request.method == "POST":
        _valid(form)
    clients = services().api_clients.list()
    return render_template(
        "admin/api_clients.html", form=form, token=token, clients=clients, revoke_form=ReasonForm(formdata=None)
    )


@bp.route("/api-clients/<int:client_id>/revoke", methods=["POST"])
@page(Permission.USERS_MANAGE)
def revoke_api_client(client_id: int) -> BaseResponse:
    """Revoke a machine client's token at once, with the reason (PWD-04); the client is kept, never deleted."""
    form = _valid(ReasonForm())
    services().api_clients.revoke(actor(), client_id, form.reason.data, info())
    flash("API client revoked: its token is refused from now on.", "success")
    return redirect(url_for("admin.api_clients"))


F = TypeVar("F", bound=FlaskForm)


def _valid(form: F) -> F:
    """The form if it validates; otherwise a 422 naming each problem, and nothing changes."""
    if form.validate_on_submit():
        return form
    problems = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in form.errors.items())
    raise InvalidInput(f"The form is incomplete or invalid ({problems}).")
