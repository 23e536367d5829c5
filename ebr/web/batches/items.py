"""Samples, their results and labels; files attached to steps (label specimens): uploading and viewing them."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from ebr.app.batch_actions import meaning_of
from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput, NotFound
from ebr.web.batches.common import batch_url, bp, checked, people, sign, step_url, text
from ebr.web.batches.equipment import code128_svg
from ebr.web.batches.forms import AttachmentForm, SampleResultForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

MAX_SHA = 64


@bp.route("/batches/<batch_id>/samples/results", methods=["POST"])
@page(Permission.BATCH_REVIEW)  # QA's act; the site policy then requires QA's "approved" signature
def record_result(batch_id: str) -> BaseResponse:
    """Link a laboratory result to a sample: requested with the reason, in force when signed 'approved'."""
    form = checked(SampleResultForm())
    action = services().samples.record_result(
        actor(),
        batch_id,
        text(form.sample_id),
        text(form.result),
        form.conforms.data == "yes",
        text(form.reason),
        info(),
    )
    return sign("batch_action", str(action.id), meaning_of(action.kind), batch_url(batch_id))


@bp.route("/batches/<batch_id>/samples/<sample_id>/label")
@page(Permission.BATCH_VIEW)
def sample_label(batch_id: str, sample_id: str) -> str:
    """The printable label of a sample: its ID as Code 128, purpose, quantity, who took it and when."""
    found = next((s for s in services().samples.samples(batch_id) if s.sample.sample_id == sample_id), None)
    if found is None:
        raise NotFound(f"Batch {batch_id} has no sample {sample_id[:80]!r}.")
    return render_template(
        "batches/sample_label.html",
        batch_id=batch_id,
        sample=found.sample,
        people=people(),
        barcode=code128_svg(found.sample.sample_id),
    )


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/attachments", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def attach(batch_id: str, step_pk: int) -> BaseResponse:
    """Upload the file of an attachment field: stored with its SHA-256, which becomes the field's value."""
    form = checked(AttachmentForm())
    field_id = text(form.field)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("Choose the file to attach.")
    try:
        value = services().attachments.attach(
            actor(), batch_id, step_pk, field_id, upload.filename, upload.read(), info()
        )
    except InvalidInput as refused:
        flash(f"Not attached: {refused}", "error")
        return redirect(step_url(batch_id, step_pk, field_id))
    flash(f"Attached {upload.filename} (SHA-256 {value.value}).", "success")
    return redirect(step_url(batch_id, step_pk, field_id))


@bp.route("/batches/<batch_id>/attachments/<sha256>")
@page(Permission.BATCH_VIEW)
def attachment(batch_id: str, sha256: str) -> Response:
    """A file attached to a step of the batch, by its SHA-256, as it was uploaded (checked against the hash)."""
    found = services().attachments.file(batch_id, sha256[:MAX_SHA])
    return Response(
        found.content,
        mimetype=found.attachment.media_type,
        headers={
            "Content-Disposition": f'inline; filename="attachment-{found.attachment.id}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
