"""The signing dialog (one for every signed act) and the site signature policy pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ebr.app.signing import Credentials
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict, DomainError, InvalidInput
from ebr.domain.signatures import SignatureRefused
from ebr.web.errors import status_of
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.session import current_session
from ebr.web.signing.forms import SignForm, StartSigningForm

bp = Blueprint("signing", __name__, url_prefix="/sign")

# Where to go once a signed act is done, by object type.
AFTER = {"setting_change": "admin.settings", "signature_policy": "signing.policies"}


def _token() -> str:
    token = current_session().token
    if token is None:
        raise SignatureRefused("Signing needs a logged-in session.")
    return token


def start(object_type: str, object_id: str, meaning: str, back: str | None = None) -> Response:
    """Open a challenge and send the browser to the dialog; once signed, it returns to `back` (a path here)."""
    signing = services().signing.request(actor(), _token(), object_type, object_id, meaning, info())
    return redirect(url_for("signing.dialog", challenge_id=signing.challenge.id, next=_local(back)))


def _local(path: str | None) -> str | None:
    # Only a path of this site: "//host" and "/\\host" are other sites to a browser (no open redirect).
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    parts = urlsplit(path)
    return path if not parts.scheme and not parts.netloc else None


@bp.route("/<challenge_id>", methods=["GET", "POST"])
@page(Permission.SELF)
def dialog(challenge_id: str) -> Response | str | tuple[str, int]:
    """What is signed, its meaning and the statement of intent; then the credentials (SIG-10)."""
    signing = services().signing.describe(actor(), _token(), challenge_id)
    form = SignForm(content_hash=signing.challenge.content_hash)
    if request.method == "GET":
        return render_template("signing/dialog.html", signing=signing, form=form)
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    username, badge = (form.username.data or "").strip(), (form.badge.data or "").strip()
    if username and badge:
        # Exactly one identification: a badge of one person with the user id of another is ambiguous (SIG-07).
        error = "Enter your user id or scan your badge, not both."
        return render_template("signing/dialog.html", signing=signing, form=form, error=error), 422
    given = Credentials(form.password.data or "", username, bool(form.acknowledge.data), badge=badge)
    try:
        signature = services().signing.sign(actor(), _token(), challenge_id, form.content_hash.data, given, info())
    except Conflict:
        raise
    except SignatureRefused as refused:
        # A changed content is a conflict (someone else acted first), not a refusal of the signer (SEQ-03).
        status = status_of(refused)
        return render_template("signing/dialog.html", signing=signing, form=form, error=str(refused)), status
    flash(
        f"Signed: {signature.meaning_text} {signature.signer_name} ({signature.signer_username}), "
        f"{signature.signed_at.strftime('%Y-%m-%dT%H:%M:%SZ')}.",
        "success",
    )
    back = _local(request.args.get("next"))
    if back is not None:
        return redirect(back)
    if signature.object_type == "procedure_version":
        return redirect(url_for("procedures.version", version_id=int(signature.object_id)))
    return redirect(url_for(AFTER.get(signature.object_type, "main.home")))


@bp.route("/policies")
@page(Permission.POLICY_MANAGE)
def policies() -> str:
    """The site signature policy versions and their approvals."""
    versions = services().policy.list()
    signatures = {p.id: services().signing.signatures_on("signature_policy", str(p.id)) for p in versions}
    return render_template("signing/policies.html", versions=versions, signatures=signatures, form=StartSigningForm())


@bp.route("/policies/import", methods=["POST"])
@page(Permission.POLICY_MANAGE)
def import_policy() -> Response:
    """Import signatures/policy.toml from the library as a draft version."""
    if not StartSigningForm().validate_on_submit():
        raise InvalidInput("The form expired: reload the page.")
    try:
        stored = services().policy.import_library(actor(), info())
    except DomainError as refused:
        flash(str(refused), "error")
        return redirect(url_for("signing.policies"))
    flash(f"Policy version {stored.version} is {stored.status}.", "success")
    return redirect(url_for("signing.policies"))


@bp.route("/policies/<int:policy_id>/approve", methods=["POST"])
@page(Permission.POLICY_MANAGE)
def approve_policy(policy_id: int) -> Response:
    """QA approves a draft version with a signature."""
    if not StartSigningForm().validate_on_submit():
        raise InvalidInput("The form expired: reload the page.")
    return start("signature_policy", str(policy_id), "approved")
