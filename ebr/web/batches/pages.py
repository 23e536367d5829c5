"""The worklist, starting a batch, the batch page and its diagram."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ebr.app.paging import page_number
from ebr.domain.accounts import Permission
from ebr.domain.orders import OrderStatus
from ebr.web.batches.common import batch_url, bp, checked, main_bpmn, people, progress
from ebr.web.batches.forms import (
    ActionForm,
    BatchActionForm,
    CloseForm,
    DeviationForm,
    DispositionForm,
    SampleResultForm,
    StartForm,
    StepActionForm,
)
from ebr.web.principal import actor, info, services
from ebr.web.routes import page


@bp.route("/batches/")
@page(Permission.BATCH_VIEW)
def worklist() -> str:
    """Active batches with the steps someone must act on, and released orders waiting for their batch."""
    return render_template(
        "batches/worklist.html",
        batches=services().execution.worklist(page_number(request.args.get("page"))),
        page_link=lambda n: url_for("batches.worklist", page=n),
        orders=services().orders.list(OrderStatus.RELEASED),
        start_form=StartForm(),
    )


@bp.route("/batches/", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def start() -> BaseResponse:
    """Start the batch of a released order; its first steps become ready."""
    form = checked(StartForm())
    stored = services().batches.start(actor(), form.order_id.data, "batch started", info())
    flash(f"Batch {stored.batch.id} started.", "success")
    return redirect(batch_url(stored.batch.id))


@bp.route("/batches/<batch_id>")
@page(Permission.BATCH_VIEW)
def batch(batch_id: str) -> str:
    """The batch: status, every step record, deviations, actions, yields and the diagram's progress."""
    view = services().execution.batch(batch_id)
    return render_template(
        "batches/batch.html",
        view=view,
        steps_by_pk={line.record.id: line for line in view.steps},
        people=people(),
        progress=progress(view),
        action_form=ActionForm(),
        batch_action_form=BatchActionForm(),
        step_action_form=StepActionForm(),
        deviation_form=DeviationForm(),
        disposition_form=DispositionForm(),
        close_form=CloseForm(),
        samples=services().samples.samples(batch_id),
        device=services().samples.device(batch_id),
        attachments=services().attachments.for_batch(batch_id),
        result_form=SampleResultForm(),
    )


@bp.route("/batches/<batch_id>/diagram.bpmn")
@page(Permission.BATCH_VIEW)
def diagram(batch_id: str) -> Response:
    """The main BPMN file of the version the batch is pinned to, for the viewer."""
    stored = services().batches.get(batch_id)
    bundle = services().procedures.bundle(stored.batch.procedure_version_id)
    return Response(main_bpmn(bundle), mimetype="application/xml")
