"""Administration forms; every change carries a reason (AUD-02)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ebr.domain.accounts import Role

# Plain values (label = value): WTForms 3.3 deprecates (value, label) tuples, and warnings are errors here.
ROLE_CHOICES = [str(r) for r in Role]


class ReasonMixin:
    """Why the change is made."""

    reason = StringField("Reason for the change", validators=[DataRequired(), Length(min=3, max=500)])


class NewUserForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A new account with a one-time password."""

    username = StringField("User id", validators=[DataRequired(), Length(max=32)])
    full_name = StringField("Printed full name", validators=[DataRequired(), Length(max=200)])
    roles = SelectMultipleField("Roles", choices=ROLE_CHOICES, validators=[DataRequired()])
    temporary_password = PasswordField("One-time password", validators=[DataRequired(), Length(min=8, max=256)])


class RolesForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Grant or revoke roles."""

    roles = SelectMultipleField("Roles", choices=ROLE_CHOICES, validators=[DataRequired()])


class ReasonForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """An action whose only input is its reason (disable, enable, unlock, reset)."""


class BadgeForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Issue or replace a badge; the code is typed or scanned once and never shown again (PWD-08)."""

    # A password field: the code is never rendered back into a page, not even after a refused submission.
    code = PasswordField("Badge code (scan or type)", validators=[DataRequired(), Length(min=6, max=128)])


class SettingForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Change one GMP setting."""

    key = StringField("Setting", validators=[DataRequired(), Length(max=64)])
    value = StringField("New value", validators=[DataRequired(), Length(max=20)])


class DiffForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Compare the configuration with a baseline export."""

    baseline = TextAreaField("Baseline export (JSON)", validators=[DataRequired(), Length(max=20000)])


class ApiClientForm(FlaskForm, ReasonMixin):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Issue a token to a machine client."""

    name = StringField("Client name", validators=[DataRequired(), Length(max=100)])
    erp_inbound = BooleanField("May send orders and master data (erp.inbound)")
    system_read = BooleanField("May read the version (system.read)")
