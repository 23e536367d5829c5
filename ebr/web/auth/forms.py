"""Login and password forms (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """User id and password; logging in is not a signature."""

    username = StringField("User id", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Replace one's own password."""

    current = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")]
    )
