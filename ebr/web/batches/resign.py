"""Re-signing a step after a signed correction (SIG-03): the same signing dialog, the meaning it was signed with."""

from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from ebr.app.batch_actions import meaning_of
from ebr.app.execution_resign import RESIGN_KINDS
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict
from ebr.web.batches.common import bp, checked, sign, step_url, text
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

REASON = "re-signed over the step's corrected content"


class ResignForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Which of the step's signatures to give again."""

    meaning = HiddenField(validators=[DataRequired(), AnyOf(sorted(RESIGN_KINDS.values()))])


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/resign", methods=["POST"])
# The verifier re-signs as they verified: a second person who may hold only the view permission.
@page(Permission.BATCH_VIEW)
def resign(batch_id: str, step_pk: int) -> Response:
    """Request the re-signature of a corrected step, then sign it over the step's content as it is now."""
    meaning = text(checked(ResignForm()).meaning)
    view = services().execution.step(batch_id, step_pk)
    if meaning not in view.resign.awaiting or view.resign.through is None:
        raise Conflict(f"Step {view.step.name!r} does not await re-signing {meaning!r}: reload it.")
    action = services().execution.request_action(
        actor(),
        batch_id,
        f"resign_{meaning}",
        REASON,
        info(),
        step_pk=step_pk,
        parameters={"through": str(view.resign.through)},
    )
    return sign("batch_action", str(action.id), meaning_of(action.kind), step_url(batch_id, step_pk))
