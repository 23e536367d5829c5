"""Acts on a batch that take effect when signed (hold, resume, cancel, deviation decisions) and deviation reports."""

from __future__ import annotations

from flask import flash, redirect
from werkzeug.wrappers import Response

from ebr.app.batch_actions import meaning_of
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.web.batches.common import batch_url, bp, checked, sign, text
from ebr.web.batches.forms import (
    ActionForm,
    BatchActionForm,
    CloseForm,
    DeviationForm,
    DispositionForm,
    StepActionForm,
)
from ebr.web.principal import actor, info, services
from ebr.web.routes import page


def _signed_action(batch_id: str, action_id: int, kind: str) -> Response:
    return sign("batch_action", str(action_id), meaning_of(kind), batch_url(batch_id))


@bp.route("/batches/<batch_id>/actions", methods=["POST"])
@page(Permission.BATCH_HOLD)
def request_action(batch_id: str) -> Response:
    """Hold, resume or cancel the batch with the reason: requested now, applied by its signature."""
    form = checked(BatchActionForm())
    action = services().execution.request_action(actor(), batch_id, form.kind.data, text(form.reason), info())
    return _signed_action(batch_id, action.id, action.kind)


@bp.route("/batches/<batch_id>/step-actions", methods=["POST"])
@page(Permission.BATCH_HOLD)
def request_step_action(batch_id: str) -> Response:
    """Skip or reassign an open step with the reason: never a data edit, applied only by its signature."""
    form = checked(StepActionForm())
    parameters = {}
    if form.kind.data == "reassign":
        named = text(form.assignee).lower()
        assignee = next((u for u in services().accounts.list_users() if u.username == named), None)
        if assignee is None:
            raise InvalidInput("Reassign to whom? No user with that user id.")
        parameters["assignee"] = str(assignee.id)
    action = services().execution.request_action(
        actor(), batch_id, form.kind.data, text(form.reason), info(), step_pk=form.step_pk.data, parameters=parameters
    )
    return _signed_action(batch_id, action.id, action.kind)


@bp.route("/batches/<batch_id>/actions/<int:action_pk>/sign", methods=["POST"])
# Opening the dialog changes nothing: the site policy checks the signer, who may be a second person.
@page(Permission.BATCH_VIEW)
def sign_action(batch_id: str, action_pk: int) -> Response:
    """Sign an action that was requested but not signed yet (its dialog was left, or expired)."""
    checked(ActionForm())
    found = next((a for a in services().execution.batch(batch_id).actions if a.id == action_pk), None)
    if found is None:
        raise NotFound(f"Batch {batch_id} has no action {action_pk}.")
    if found.status != "pending":
        raise Conflict(f"This {found.kind} is {found.status} already.")
    return _signed_action(batch_id, found.id, found.kind)


@bp.route("/batches/<batch_id>/deviations", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def report_deviation(batch_id: str) -> Response:
    """Report something outside the procedure, linked to the batch and, where named, a step (QA-01)."""
    form = checked(DeviationForm())
    deviation = services().execution.report_deviation(
        actor(),
        batch_id,
        form.step_pk.data,
        form.severity.data,
        text(form.description),
        text(form.immediate_action),
        info(),
    )
    flash(f"Deviation {deviation.number} reported.", "success")
    return redirect(batch_url(batch_id))


@bp.route("/batches/<batch_id>/deviations/<int:deviation_pk>/disposition", methods=["POST"])
# As the application: anyone who sees the batch may ask; the site policy decides who may sign, by severity.
@page(Permission.BATCH_VIEW)
def disposition(batch_id: str, deviation_pk: int) -> Response:
    """Continue, rework or reject, with the impact: applied by the 'dispositioned' signature."""
    form = checked(DispositionForm())
    action = services().execution.request_action(
        actor(),
        batch_id,
        "disposition",
        text(form.reason),
        info(),
        deviation_pk=deviation_pk,
        parameters={"disposition": form.disposition.data, "impact": text(form.impact)},
    )
    return _signed_action(batch_id, action.id, action.kind)


@bp.route("/batches/<batch_id>/deviations/<int:deviation_pk>/close", methods=["POST"])
@page(Permission.BATCH_VIEW)
def close_deviation(batch_id: str, deviation_pk: int) -> Response:
    """Close a dispositioned deviation with its summary: applied by the 'closed' signature."""
    form = checked(CloseForm())
    action = services().execution.request_action(
        actor(), batch_id, "close", text(form.reason), info(), deviation_pk=deviation_pk
    )
    return _signed_action(batch_id, action.id, action.kind)
