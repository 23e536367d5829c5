"""Forms of the review pages; each is validated on the server."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

MAX_ID = 2**31 - 1  # an INTEGER primary key on every supported database
REASON = [DataRequired(), Length(min=3, max=500)]
LONG_TEXT = 2000
ADDENDUM_TEXT = 10_000


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button that only needs the CSRF token."""


class SubmitForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Hand a completed batch to QA review, with the reason."""

    reason = StringField("Reason", validators=REASON)


class AcknowledgeForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Acknowledge one exception with a comment; `seen` is the mark the page showed, to notice a newer one."""

    key = HiddenField(validators=[DataRequired(), Length(max=128)])
    comment = TextAreaField("Comment", validators=[DataRequired(), Length(min=3, max=LONG_TEXT)])
    seen = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_ID)])


class DecisionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Release or reject with the reason; applied when signed."""

    decision = SelectField("Decision", choices=["release", "reject"])
    reason = StringField("Reason", validators=REASON)


class AddendumForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Information that arrived after the decision, with why it is added; in force when signed."""

    text = TextAreaField("Addendum", validators=[DataRequired(), Length(max=ADDENDUM_TEXT)])
    reason = StringField("Reason", validators=REASON)
