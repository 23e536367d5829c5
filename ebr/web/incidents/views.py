"""Open incidents for QA, supervisors and the administrator; acknowledging one is audited."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.incidents.forms import AcknowledgeForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


@bp.route("/")
@page(Permission.INCIDENT_ACKNOWLEDGE)
def index() -> str:
    """Every incident nobody has acknowledged yet, newest first."""
    return render_template(
        "incidents/index.html", incidents=services().incidents.open_incidents(), form=AcknowledgeForm()
    )


@bp.route("/<int:incident_id>/acknowledge", methods=["POST"])
@page(Permission.INCIDENT_ACKNOWLEDGE)
def acknowledge(incident_id: int) -> Response:
    """Take notice of an incident with what was done about it."""
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        raise InvalidInput("Say what was done about the incident (3 to 500 characters).")
    incident = services().incidents.acknowledge(actor(), incident_id, form.reason.data, info())
    flash(f"Incident #{incident.id} acknowledged.", "success")
    return redirect(url_for("incidents.index"))
