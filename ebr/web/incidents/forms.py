"""The acknowledgement form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class AcknowledgeForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Acknowledge an incident, saying what was done about it."""

    reason = StringField("What was done", validators=[DataRequired(), Length(min=3, max=500)])
