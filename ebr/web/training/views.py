"""Training records: supervisors and QA record and review them; steps naming a course require a current one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.training.forms import TrainingForm

bp = Blueprint("training", __name__, url_prefix="/training")


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of the day."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def end_of(day: date) -> datetime:
    """Midnight UTC after the day: 'valid until' a date includes that whole day."""
    if day >= date.max:
        raise InvalidInput("Valid until: enter a real expiry date.")
    return start_of(day + timedelta(days=1))


@bp.route("/")
@page(Permission.TRAINING_MANAGE)
def index() -> str:
    """Every training record, newest first, with whether it is current."""
    return render_template("training/index.html", lines=services().training.list(), form=TrainingForm())


@bp.route("/", methods=["POST"])
@page(Permission.TRAINING_MANAGE)
def record() -> Response:
    """Record a training; 'valid until' includes that whole day."""
    form = TrainingForm()
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    stored = services().training.record(
        actor(),
        form.username.data,
        form.course.data,
        start_of(form.trained_on.data),
        end_of(form.valid_until.data),
        form.reason.data,
        info(),
    )
    flash(f"Training on {stored.course} recorded for {form.username.data.strip()}.", "success")
    return redirect(url_for("training.index"))
