"""The step page: instructions, signature rule, the form saved field by field, signing, verification, correction."""

from __future__ import annotations

from flask import flash, redirect, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from ebr.app.batch_actions import meaning_of
from ebr.app.execution_corrections import Entry, OutOfLimit
from ebr.app.execution_views import StepView
from ebr.domain.accounts import Permission, Role, User
from ebr.domain.errors import Conflict, InvalidInput
from ebr.web.batches.common import batch_url, bp, checked, instructions, people, sign, step_url, text
from ebr.web.batches.entries import save, saved_message
from ebr.web.batches.forms import ActionForm, CorrectionForm, ValueForm, VoidForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page


def _first_empty_barcode(view: StepView) -> str:
    found = next((f for f in view.fields if f.field.type == "barcode" and f.current is None), None)
    return found.field.id if found else ""


def _may_perform(view: StepView, user: User) -> bool:
    # What the application checks on every entry, so the form is not offered to someone it would refuse.
    if Permission.BATCH_EXECUTE not in user.permissions:
        return False
    named = view.step.performer_roles & {str(role) for role in Role}  # as the application, unknown names are ignored
    if named and not {str(role) for role in user.roles} & named:
        return False
    return view.record.assigned_to in (None, user.id)


@bp.route("/batches/<batch_id>/steps/<int:step_pk>")
@page(Permission.BATCH_VIEW)
def step(batch_id: str, step_pk: int) -> str:
    """One step record: what to do, who may sign, the fields with their history, and what can be done now."""
    view = services().execution.step(batch_id, step_pk)
    has_calculated = any(f.type == "calculated" for f in view.form.fields)
    return render_template(
        "batches/step.html",
        view=view,
        people=people(),
        instructions=instructions(view.step.instructions, view.variables),
        calculated=services().execution.calculate(batch_id, step_pk) if has_calculated else {},
        focus=_first_empty_barcode(view),
        may_perform=_may_perform(view, current_user.user),
        action_form=ActionForm(),
        correction_form=CorrectionForm(),
        paper_forms=services().paper_forms.issued_for(step_pk),  # the outage fallback (OPS-02)
    )


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/values", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def enter_value(batch_id: str, step_pk: int) -> Response:
    """One field's value without the page's script: saved at once, then back to the step with the outcome."""
    form = checked(ValueForm())
    field_id = text(form.field)
    entry = Entry(
        field_id,
        form.value.data or "",
        text(form.unit),
        bool(form.confirmed.data),
        form.repeat.data or None,
        text(form.override_reason),
        text(form.change_reason),
        paper_form=text(form.paper_form),
        transcribed=bool(form.transcribed.data),
    )
    try:
        field, value = save(batch_id, step_pk, entry)
    except OutOfLimit as refused:
        flash(f"{refused} Tick “Record although outside the limits” and save again.", "warning")
        return redirect(step_url(batch_id, step_pk, field_id))
    except InvalidInput as refused:
        flash(f"Not saved: {refused}", "error")
        return redirect(step_url(batch_id, step_pk, field_id))
    flash(saved_message(field, value), "success")
    return redirect(step_url(batch_id, step_pk, field_id))


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/values/<int:value_pk>/void", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def void_value(batch_id: str, step_pk: int, value_pk: int) -> Response:
    """Void an entry of a step not yet signed, with the reason; a refusal answers 409 or 422 with its reason."""
    form = checked(VoidForm())
    voided = services().execution.void(actor(), batch_id, step_pk, value_pk, text(form.reason), info())
    flash(f"Entry {voided.supersedes_id} voided: enter the value again if the step needs it.", "success")
    return redirect(step_url(batch_id, step_pk, voided.field_id))


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/perform", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def perform(batch_id: str, step_pk: int) -> Response:
    """Sign the step 'performed': the signature checks every value and moves the procedure on."""
    checked(ActionForm())
    view = services().execution.step(batch_id, step_pk)  # a step of another batch, or a forged id: 404
    if view.record.status != "ready":  # a stale page: say so now, not after the password
        raise Conflict(f"Step {view.step.name!r} is {view.record.status}, not ready: reload the batch.")
    return sign("batch_step", str(step_pk), "performed", batch_url(batch_id))


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/verify", methods=["POST"])
# The second person signs at the performer's terminal with their own user id: the site policy checks the signer.
@page(Permission.BATCH_VIEW)
def verify(batch_id: str, step_pk: int) -> Response:
    """A second person signs the performed step 'verified' (SEQ-08)."""
    checked(ActionForm())
    view = services().execution.step(batch_id, step_pk)
    if view.record.status != "performed" or not view.step.verifier_roles:
        raise Conflict(f"Step {view.step.name!r} is {view.record.status}: it is not awaiting verification.")
    return sign("batch_step", str(step_pk), "verified", batch_url(batch_id))


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/corrections", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def correct(batch_id: str, step_pk: int) -> Response:
    """Correct a value of a signed step: requested with the reason, applied by the 'corrected' signature."""
    form = checked(CorrectionForm())
    parameters = {"field": text(form.field), "value": text(form.value), "unit": text(form.unit)}
    action = services().execution.request_action(
        actor(), batch_id, "correct", text(form.reason), info(), step_pk=step_pk, parameters=parameters
    )
    return sign("batch_action", str(action.id), meaning_of(action.kind), step_url(batch_id, step_pk))
