"""The outage fallback on the step page (OPS-02): issue a numbered paper form for the step and print it."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.web.batches.common import bp, checked
from ebr.web.batches.forms import ActionForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/paper-forms", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def issue_paper_form(batch_id: str, step_pk: int) -> Response:
    """Issue the next numbered form for this step (audited), then show it for printing."""
    checked(ActionForm())
    issued = services().paper_forms.issue(actor(), batch_id, step_pk, info())
    return redirect(url_for("batches.paper_form", batch_id=batch_id, step_pk=step_pk, number=issued.number))


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/paper-forms/<number>")
@page(Permission.BATCH_VIEW)
def paper_form(batch_id: str, step_pk: int, number: str) -> str:
    """An issued form as printed: number, batch, step, every field with its unit and limits, and room to write."""
    return render_template("batches/paper_form.html", sheet=services().paper_forms.sheet(batch_id, step_pk, number))
