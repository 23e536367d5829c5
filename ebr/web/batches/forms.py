"""Forms of the batch pages; each is validated on the server, whatever the page's script checked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

MAX_ID = 2**31 - 1  # an INTEGER primary key on every supported database
REASON = [DataRequired(), Length(min=3, max=500)]
LONG_TEXT = 2000
# Stored in a VARCHAR(32) column: a longer unit failed in PostgreSQL with a 500.
UNIT = [Optional(), Length(max=32)]


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button that only needs the CSRF token."""


class StartForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Start the batch of a released order."""

    order_id = IntegerField("Order", validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])


class BatchActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Hold, resume or cancel the batch, with the reason; applied when signed."""

    kind = SelectField("Action", choices=["hold", "resume", "cancel"])
    reason = StringField("Reason", validators=REASON)


class StepActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Skip an open step or reassign it to a named person, with the reason; applied when signed."""

    kind = SelectField("Action", choices=["skip", "reassign"])
    step_pk = IntegerField("Step", validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])
    assignee = StringField("Assign to (user id)", validators=[Optional(), Length(max=64)])
    reason = StringField("Reason", validators=REASON)


class DeviationForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """An operator's report of something outside the procedure (QA-01)."""

    severity = SelectField("Severity", choices=["minor", "major", "critical"])
    description = TextAreaField("What happened", validators=[DataRequired(), Length(min=3, max=LONG_TEXT)])
    immediate_action = TextAreaField("Immediate action taken", validators=[Optional(), Length(max=LONG_TEXT)])
    step_pk = IntegerField("Step", validators=[Optional(), NumberRange(min=1, max=MAX_ID)])


class DispositionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """The decision on a deviation, with the impact assessed; applied when signed."""

    disposition = SelectField("Decision", choices=["continue", "rework", "reject"])
    impact = TextAreaField("Impact on the product", validators=[DataRequired(), Length(min=3, max=LONG_TEXT)])
    reason = StringField("Reason", validators=REASON)


class CloseForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Close a dispositioned deviation with its summary; applied when signed."""

    reason = StringField("Closure summary", validators=REASON)


class ValueForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """One field's value, as the page posts it without its script."""

    field = StringField("Field", validators=[DataRequired(), Length(max=100)])
    value = StringField("Value", validators=[Optional(), Length(max=LONG_TEXT)])
    unit = StringField("Unit", validators=UNIT)
    repeat = StringField("Enter again", validators=[Optional(), Length(max=LONG_TEXT)])
    override_reason = StringField("Reason for typing over the device", validators=[Optional(), Length(max=500)])
    change_reason = StringField("Reason for the change", validators=[Optional(), Length(max=500)])
    confirmed = BooleanField("Record although outside the limits")
    transcribed = BooleanField("Transcribed from a paper form")  # after an outage (OPS-02)
    paper_form = StringField("Paper form number", validators=[Optional(), Length(max=32)])


class CorrectionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A signed correction of a signed step's value, with its reason (11.10(e))."""

    field = StringField("Field", validators=[DataRequired(), Length(max=100)])
    value = StringField("New value", validators=[DataRequired(), Length(max=LONG_TEXT)])
    unit = StringField("Unit", validators=UNIT)
    reason = StringField("Reason for the correction", validators=REASON)


class VoidForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Void an entry of a step not yet signed, with the reason."""

    reason = StringField("Reason to void this entry", validators=REASON)


class EquipmentScanForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """The step's own equipment scan: the barcode on the instance's label."""

    # Longer than any code on purpose: a garbled scan is refused by the check with its reason, and recorded.
    barcode = StringField("Equipment label", validators=[DataRequired(), Length(max=200)])


class CaptureForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Capture a device-bound field, optionally naming the instance the page showed in use."""

    field = StringField("Field", validators=[DataRequired(), Length(max=100)])
    equipment = StringField("Equipment", validators=[Optional(), Length(max=64)])


class SampleResultForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A laboratory result linked to a sample, with whether it conforms and the reason; in force when QA signs."""

    sample_id = StringField("Sample", validators=[DataRequired(), Length(max=80)])
    result = StringField("Result", validators=[DataRequired(), Length(max=500)])
    conforms = SelectField("Conforms to its specification", choices=["yes", "no"])
    reason = StringField("Reason (report, reference)", validators=REASON)


class AttachmentForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A file for a step's attachment field (the file itself is read from the request's files)."""

    field = StringField("Field", validators=[DataRequired(), Length(max=100)])
