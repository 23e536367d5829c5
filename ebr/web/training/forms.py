"""The training record form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class TrainingForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Record one person's training on one course."""

    username = StringField("User id", validators=[DataRequired(), Length(max=32)])
    course = StringField("Course id (as steps name it)", validators=[DataRequired(), Length(max=64)])
    trained_on = DateField("Trained on (UTC)", validators=[InputRequired()])
    valid_until = DateField("Valid until (including that day, UTC)", validators=[InputRequired()])
    reason = StringField("Reason", validators=[DataRequired(), Length(min=3, max=500)])
