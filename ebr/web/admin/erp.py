"""The ERP postings dashboard: what is pending, sent and dead, each posting's attempts and frozen bytes, and the
signed replay of a dead one (ERP-05). Nothing here changes a posting without a signature."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ebr.app.outbox import REPLAY_MEANING, REPLAY_OBJECT
from ebr.app.ports import PostingStatus
from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.signing.views import start as start_signing

bp = Blueprint("erp_postings", __name__, url_prefix="/admin/erp")
LIMIT = 200


class ReplayForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Why a dead posting may go again: what was fixed."""

    reason = StringField("What was fixed", validators=[DataRequired(), Length(min=3, max=500)])


@bp.route("/")
@page(Permission.ERP_MONITOR)
def index() -> str:
    """Counts by status and the newest postings; a dead one offers its replay."""
    raw = request.args.get("status", "")
    status = PostingStatus(raw) if raw in set(PostingStatus) else None
    outbox = services().outbox
    return render_template(
        "erp/index.html",
        counts=outbox.counts(),
        rows=outbox.dashboard(status, LIMIT),
        status=status,
        statuses=list(PostingStatus),
        form=ReplayForm(),
        limit=LIMIT,
        dispatching=services().dispatcher.enabled,
    )


@bp.route("/<int:message_id>")
@page(Permission.ERP_MONITOR)
def posting(message_id: int) -> str:
    """One posting: its key, hash and every delivery attempt."""
    outbox = services().outbox
    return render_template(
        "erp/posting.html",
        posting=outbox.posting(message_id),
        attempts=outbox.attempts(message_id),
        form=ReplayForm(),
    )


@bp.route("/<int:message_id>/payload.<any(xml,json):form>")
@page(Permission.ERP_MONITOR)
def payload(message_id: int, form: str) -> Response:
    """The frozen bytes exactly as sent (XML), or their JSON rendering."""
    frozen = services().outbox.frozen(message_id)
    body, mimetype = (
        (frozen.payload, frozen.content_type) if form == "xml" else (frozen.payload_json, "application/json")
    )
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename=erp-posting-{message_id}.{form}",
            "X-Payload-SHA256": frozen.payload_sha256,
        },
    )


@bp.route("/<int:message_id>/replay", methods=["POST"])
@page(Permission.ERP_REPLAY)
def replay(message_id: int) -> BaseResponse:
    """Ask for a replay with what was fixed; it takes effect when signed ('replayed' on erp_replay)."""
    form = ReplayForm()
    if not form.validate_on_submit():
        raise InvalidInput("Say what was fixed before the posting is sent again (3 to 500 characters).")
    object_id = services().outbox.request_replay(actor(), message_id, form.reason.data, info())
    return start_signing(
        REPLAY_OBJECT, object_id, REPLAY_MEANING, url_for("erp_postings.posting", message_id=message_id)
    )
