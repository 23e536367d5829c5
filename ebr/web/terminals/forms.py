"""Terminal registration forms; each carries its reason."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

REASON = [DataRequired(), Length(min=3, max=500)]


class RegisterForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Register the browser this form is submitted from as a named terminal."""

    name = StringField("Terminal name", validators=[DataRequired(), Length(max=64)])
    location = StringField("Location", validators=[Optional(), Length(max=200)])
    reason = StringField("Reason", validators=REASON)


class DeactivateForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Stop trusting a terminal."""

    reason = StringField("Reason", validators=REASON)
