"""Procedures for engineers and QA: versions and states, upload, lint, diff, sign, dry run, diagram."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput, NotFound
from ebr.web.principal import actor, info, services
from ebr.web.procedures.forms import ActionForm, DryRunForm, EffectiveForm, ImportForm, RetireForm, UploadForm
from ebr.web.routes import page
from ebr.web.signing.views import start as start_signing

bp = Blueprint("procedures", __name__, url_prefix="/procedures")
MAX_UPLOAD = 5 * 1024 * 1024
MAX_ID = 2**31 - 1  # an INTEGER primary key on every supported database
MAX_PRODUCT_CODE = 64  # product_procedure.product_code


def _checked(form: Any) -> Any:
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


@bp.route("/")
@page(Permission.PROCEDURE_VIEW)
def index() -> str:
    """Library procedures, stored versions with their states, and the product mapping."""
    svc = services().procedures
    return render_template(
        "procedures/index.html",
        library=svc.library_ids(),
        versions=svc.versions(),
        products=svc.product_mapping(),
        import_form=ImportForm(),
        upload_form=UploadForm(),
    )


@bp.route("/import", methods=["POST"])
@page(Permission.PROCEDURE_AUTHOR)
def import_library() -> BaseResponse:
    """Freeze a library procedure into a new draft."""
    form = _checked(ImportForm())
    stored = services().procedures.import_from_library(actor(), form.procedure_id.data, info())
    flash(f"{stored.procedure_id} version {stored.version} ({stored.status}).", "success")
    return redirect(url_for("procedures.version", version_id=stored.id))


@bp.route("/upload", methods=["POST"])
@page(Permission.PROCEDURE_AUTHOR)
def upload() -> BaseResponse:
    """A modeler's .bpmn, bundled with the library's forms and equipment classes."""
    form = _checked(UploadForm())
    content = form.bpmn.data.read(MAX_UPLOAD + 1)
    stored = services().procedures.import_upload(actor(), form.bpmn.data.filename or "upload.bpmn", content, info())
    flash(f"{stored.procedure_id} version {stored.version} ({stored.status}).", "success")
    return redirect(url_for("procedures.version", version_id=stored.id))


@bp.route("/versions/<int:version_id>")
@page(Permission.PROCEDURE_VIEW)
def version(version_id: int) -> str:
    """One version: steps, limits, roles, lint, signatures, diagram and the actions its state allows."""
    view = services().procedures.view(version_id)
    signatures = services().signing.signatures_on("procedure_version", str(version_id))
    others = [v for v in services().procedures.versions(view.version.procedure_id) if v.id != version_id]
    return render_template(
        "procedures/version.html",
        view=view,
        signatures=signatures,
        others=others,
        action_form=ActionForm(),
        effective_form=EffectiveForm(),
        retire_form=RetireForm(),
        upload_form=UploadForm(),
        dry_run_form=DryRunForm(),
    )


@bp.route("/versions/<int:version_id>/diagram.bpmn")
@page(Permission.PROCEDURE_VIEW)
def diagram(version_id: int) -> Response:
    """The main BPMN file of the frozen bundle, for the viewer."""
    bundle = services().procedures.bundle(version_id)
    main = next((p for p in sorted(bundle.files) if p.endswith("/procedure.bpmn")), None)
    main = main or next((p for p in sorted(bundle.files) if p.endswith(".bpmn")), None)
    if main is None:
        raise NotFound("This version has no BPMN file.")
    return Response(bundle.files[main], mimetype="application/xml")


@bp.route("/versions/<int:version_id>/submit", methods=["POST"])
@page(Permission.PROCEDURE_AUTHOR)
def submit(version_id: int) -> BaseResponse:
    """The author submits a draft for review by signing it 'authored'."""
    _checked(ActionForm())
    return start_signing("procedure_version", str(version_id), "authored")


@bp.route("/versions/<int:version_id>/approve", methods=["POST"])
@page(Permission.PROCEDURE_APPROVE)
def approve(version_id: int) -> BaseResponse:
    """QA approves a version in review by signing it 'approved'; the site policy forbids the author."""
    _checked(ActionForm())
    return start_signing("procedure_version", str(version_id), "approved")


@bp.route("/versions/<int:version_id>/effective", methods=["POST"])
@page(Permission.PROCEDURE_APPROVE)
def make_effective(version_id: int) -> BaseResponse:
    """Put an approved version into force for its products."""
    form = _checked(EffectiveForm())
    when = form.effective_from.data.replace(tzinfo=UTC) if form.effective_from.data else services().clock.now()
    products = list(dict.fromkeys(p.strip() for p in (form.products.data or "").split(",") if p.strip()))
    bad = [p for p in products if len(p) > MAX_PRODUCT_CODE or not p.isprintable()]
    if bad:  # product_code is VARCHAR(64): a longer code failed in PostgreSQL with a 500
        raise InvalidInput(f"A product code has at most {MAX_PRODUCT_CODE} printable characters: {bad[0][:80]!r}.")
    services().procedures.make_effective(actor(), version_id, when, products, form.reason.data, info())
    flash("The version is effective.", "success")
    return redirect(url_for("procedures.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/retire", methods=["POST"])
@page(Permission.PROCEDURE_APPROVE)
def retire(version_id: int) -> BaseResponse:
    """Withdraw a version."""
    form = _checked(RetireForm())
    services().procedures.retire(actor(), version_id, form.reason.data, info())
    flash("The version is retired.", "success")
    return redirect(url_for("procedures.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/return", methods=["POST"])
@page(Permission.PROCEDURE_APPROVE)
def return_to_author(version_id: int) -> BaseResponse:
    """QA sends a version in review back to its author with the reason."""
    form = _checked(RetireForm())
    services().procedures.return_to_author(actor(), version_id, form.reason.data, info())
    flash("The version is back in draft for its author.", "success")
    return redirect(url_for("procedures.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/revise", methods=["POST"])
@page(Permission.PROCEDURE_AUTHOR)
def revise(version_id: int) -> BaseResponse:
    """Edit a draft by uploading its new BPMN; a submitted or approved version answers 409."""
    form = _checked(UploadForm())
    content = form.bpmn.data.read(MAX_UPLOAD + 1)
    stored = services().procedures.revise(
        actor(), version_id, form.bpmn.data.filename or "upload.bpmn", content, info()
    )
    flash(f"Draft replaced by version {stored.version}.", "success")
    return redirect(url_for("procedures.version", version_id=stored.id))


@bp.route("/versions/<int:version_id>/dry-run", methods=["POST"])
@page(Permission.PROCEDURE_AUTHOR)
def dry_run(version_id: int) -> str:
    """Simulate the version with test values and show the path it takes: no batch, no posting."""
    form = _checked(DryRunForm())
    try:
        values = json.loads(form.values.data) if (form.values.data or "").strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Test values are not JSON: {exc}") from None
    except (ValueError, RecursionError):  # an integer of over 4300 digits; nesting deeper than the recursion limit
        raise InvalidInput("Test values: nested too deeply, or a number of more than 4300 digits.") from None
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise InvalidInput("Test values: an object {step id: {field id: value}}.")
    result = services().procedures.dry_run(actor(), version_id, values)
    view = services().procedures.view(version_id)
    return render_template("procedures/dry_run.html", view=view, result=result)


def _compare_ids() -> tuple[int, int]:
    try:
        ids = int(request.args["old"]), int(request.args["new"])
    except (KeyError, ValueError):
        raise InvalidInput("Compare needs ?old=<version id>&new=<version id>.") from None
    for version_id in ids:
        # Query arguments skip the <int:> converter's cap: beyond INTEGER, PostgreSQL would fail with a 500.
        if not 0 < version_id <= MAX_ID:
            raise NotFound(f"No procedure version {version_id}.")
    return ids


@bp.route("/compare")
@page(Permission.PROCEDURE_VIEW)
def compare() -> str:
    """A readable diff of two versions (VAL-10)."""
    old_id, new_id = _compare_ids()
    svc = services().procedures
    return render_template(
        "procedures/compare.html",
        changes=svc.compare(old_id, new_id),
        old=svc.view(old_id).version,
        new=svc.view(new_id).version,
    )


@bp.route("/compare.json")
@page(Permission.PROCEDURE_VIEW)
def compare_json() -> Response:
    """The same diff as JSON."""
    old_id, new_id = _compare_ids()
    changes = services().procedures.compare(old_id, new_id)
    return jsonify({"old": old_id, "new": new_id, "changes": [c.__dict__ for c in changes]})
