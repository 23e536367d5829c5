"""QA's review by exception: the queue, the review page (exceptions first), acknowledgements, the signed audit-trail
review, release or rejection through the signing dialog, and addenda after the decision."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ebr.app.paging import page_number
from ebr.app.release import ADDENDUM_MEANING, meaning_of
from ebr.domain.accounts import Permission
from ebr.domain.errors import Conflict, NotFound
from ebr.web.batches.common import checked, people, text
from ebr.web.principal import actor, info, services
from ebr.web.review.forms import AcknowledgeForm, ActionForm, AddendumForm, DecisionForm, SubmitForm
from ebr.web.routes import page
from ebr.web.signing.views import start

bp = Blueprint("review", __name__, url_prefix="/review")


def review_url(batch_id: str, anchor: str | None = None) -> str:
    """The review page of a batch."""
    return url_for("review.batch", batch_id=batch_id, _anchor=anchor)


@bp.route("/")
@page(Permission.BATCH_REVIEW)
def queue() -> str:
    """Completed batches to submit, batches in review (a page of each), and those released or rejected lately."""
    args = request.args
    completed, in_review = page_number(args.get("completed_page")), page_number(args.get("in_review_page"))
    return render_template(
        "review/queue.html",
        queue=services().review.queue(completed, in_review),
        completed_link=lambda n: url_for("review.queue", completed_page=n, in_review_page=in_review),
        in_review_link=lambda n: url_for("review.queue", completed_page=completed, in_review_page=n),
        submit_form=SubmitForm(),
    )


@bp.route("/<batch_id>/submit", methods=["POST"])
# Handing a completed record to QA is a supervisor's or QA's act, as holds are.
@page(Permission.BATCH_HOLD)
def submit(batch_id: str) -> Response:
    """Send a completed batch to QA review with the reason."""
    form = checked(SubmitForm())
    services().review.submit_for_review(actor(), batch_id, text(form.reason), info())
    flash(f"Batch {batch_id} is in review.", "success")
    return redirect(review_url(batch_id))


@bp.route("/<batch_id>")
@page(Permission.BATCH_REVIEW)
def batch(batch_id: str) -> str:
    """Exceptions first, each with its acknowledgement; then blockers, the audit trail, decisions and addenda."""
    return render_template(
        "review/batch.html",
        view=services().review.review(batch_id),
        documents=services().documents.documents(batch_id),
        record_hash=services().records.shown_hash(batch_id),
        people=people(),
        acknowledge_form=AcknowledgeForm(),
        action_form=ActionForm(),
        decision_form=DecisionForm(),
        addendum_form=AddendumForm(),
    )


@bp.route("/<batch_id>/acknowledge", methods=["POST"])
@page(Permission.BATCH_REVIEW)
def acknowledge(batch_id: str) -> Response:
    """Acknowledge one exception with a comment; a page left open while someone else did is told so."""
    form = checked(AcknowledgeForm())
    key, seen = text(form.key), form.seen.data or 0
    mark = services().review.acknowledge(actor(), batch_id, key, text(form.comment), info())
    meanwhile = [m for m in services().review.marks(batch_id, key) if seen < m.id < mark.id]
    if meanwhile:
        named = people()
        who = ", ".join(sorted({named[m.marked_by].full_name for m in meanwhile if m.marked_by in named}))
        flash(f"{who or 'Someone'} acknowledged {key} while your page was open; your acknowledgement is the latest.")
    flash(f"Exception {key} acknowledged.", "success")
    return redirect(review_url(batch_id, f"exception-{key.replace(':', '-')}"))


@bp.route("/<batch_id>/trail", methods=["POST"])
@page(Permission.BATCH_REVIEW)
def sign_trail(batch_id: str) -> Response:
    """Sign 'audit trail reviewed' over the batch's trail as it stands now (AUD-09)."""
    checked(ActionForm())
    opened = services().review.open_trail_review(actor(), batch_id, info())
    return start("batch_review", str(opened.id), "reviewed", review_url(batch_id))


@bp.route("/<batch_id>/decision", methods=["POST"])
@page(Permission.BATCH_RELEASE)
def decide(batch_id: str) -> Response:
    """Release or reject with the reason: refused at once while blockers remain, applied by QA's signature."""
    form = checked(DecisionForm())
    decision = services().release.request_decision(actor(), batch_id, form.decision.data, text(form.reason), info())
    return start("batch_release", str(decision.id), meaning_of(decision.decision), review_url(batch_id))


@bp.route("/<batch_id>/decisions/<int:action_pk>/sign", methods=["POST"])
@page(Permission.BATCH_RELEASE)
def sign_decision(batch_id: str, action_pk: int) -> Response:
    """Sign a decision that was requested but not signed yet (its dialog was left, or expired)."""
    checked(ActionForm())
    line = next((d for d in services().review.review(batch_id).decisions if d.decision.id == action_pk), None)
    if line is None:
        raise NotFound(f"Batch {batch_id} has no decision request {action_pk}.")
    if line.signed:
        raise Conflict(f"This {line.decision.decision} is signed already.")
    return start("batch_release", str(action_pk), meaning_of(line.decision.decision), review_url(batch_id))


@bp.route("/<batch_id>/addenda", methods=["POST"])
@page(Permission.BATCH_RELEASE)
def add_addendum(batch_id: str) -> Response:
    """Add information that arrived after the decision, as its own entity signed by QA (QA-05)."""
    form = checked(AddendumForm())
    addendum = services().release.add_addendum(actor(), batch_id, text(form.text), text(form.reason), info())
    return start("batch_addendum", str(addendum.id), ADDENDUM_MEANING, review_url(batch_id, "addenda"))


@bp.route("/<batch_id>/addenda/<int:entry_id>/sign", methods=["POST"])
@page(Permission.BATCH_RELEASE)
def sign_addendum(batch_id: str, entry_id: int) -> Response:
    """Sign an addendum that was added but not signed yet."""
    checked(ActionForm())
    line = next((a for a in services().review.review(batch_id).addenda if a.addendum.id == entry_id), None)
    if line is None:
        raise NotFound(f"Batch {batch_id} has no addendum {entry_id}.")
    if line.signed:
        raise Conflict(f"Addendum {entry_id} is signed already.")
    return start("batch_addendum", str(entry_id), ADDENDUM_MEANING, review_url(batch_id, "addenda"))
