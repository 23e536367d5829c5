"""Equipment forms; every change carries its reason, every edit the version it was made on."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from ebr.app.equipment_logbook import KINDS, MAX_DETAIL

REASON = [DataRequired(), Length(min=3, max=500)]


class _Details(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """What registering and editing share: description, place, service state and device endpoint."""

    description = StringField("Description", validators=[Optional(), Length(max=200)])
    location = StringField("Location", validators=[Optional(), Length(max=200)])
    in_service = BooleanField("In service", default=True)
    host = StringField("Device host (empty: no device to read)", validators=[Optional(), Length(max=253)])
    port = IntegerField("Port", validators=[Optional()])
    unit_id = IntegerField("Unit id", validators=[Optional()])
    timeout_s = FloatField("Timeout (s)", validators=[Optional()])
    retries = IntegerField("Retries", validators=[Optional()])
    reason = StringField("Reason", validators=REASON)


class RegisterForm(_Details):
    """Register a new instance of a library equipment class."""

    code = StringField("Equipment id (its label)", validators=[DataRequired(), Length(max=64)])
    class_id = SelectField("Class", choices=[])


class EditForm(_Details):
    """Change an instance; the version is the one the page showed."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class LogbookForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Request a logbook entry of one kind; the page renders one per kind."""

    kind = HiddenField(validators=[DataRequired(), AnyOf(KINDS)])
    detail = TextAreaField("What was done", validators=[Optional(), Length(max=MAX_DETAIL)])
    valid_until = StringField("Valid until (UTC)", validators=[Optional(), Length(max=40)])
    reason = StringField("Reason", validators=REASON)


class SignEntryForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Open the signing dialog for a pending entry (CSRF only)."""
