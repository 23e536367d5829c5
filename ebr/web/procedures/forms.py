"""Procedure library forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button that only needs the CSRF token."""


class ImportForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Import a procedure from the library folders."""

    procedure_id = StringField("Procedure", validators=[DataRequired(), Length(max=100)])


class UploadForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A .bpmn file saved by a modeler."""

    bpmn = FileField("BPMN file", validators=[FileRequired()])


class EffectiveForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Put an approved version into force."""

    effective_from = DateTimeLocalField("Effective from (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    products = StringField("Products (codes, comma-separated)", validators=[Optional(), Length(max=500)])
    reason = StringField("Reason", validators=[DataRequired(), Length(min=3, max=500)])


class RetireForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Withdraw a version."""

    reason = StringField("Reason", validators=[DataRequired(), Length(min=3, max=500)])


class DryRunForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Test values for a simulation: JSON {step id: {field id: value}}; empty for defaults."""

    values = TextAreaField("Test values (JSON)", validators=[Optional(), Length(max=20000)])
