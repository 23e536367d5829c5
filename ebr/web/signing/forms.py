"""The one signing form used everywhere."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class SignForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """User id or badge (first signature of a session, or a second person), password, acknowledgement."""

    content_hash = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
    username = StringField("User id", validators=[Optional(), Length(max=64)])
    # A badge identifies the signer in place of the user id, never without the password (PWD-08). A password
    # field, so a scanned code is never rendered back into the page after a refused attempt.
    badge = PasswordField("Badge", validators=[Optional(), Length(max=128)])
    password = PasswordField(
        "Password", validators=[DataRequired(message="Every signature needs the password."), Length(max=256)]
    )
    acknowledge = BooleanField("I understand that my electronic signature is legally binding")


class StartSigningForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Opens a signing request (CSRF only)."""
