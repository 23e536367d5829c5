"""Master data forms; every change carries its reason."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ebr.domain.materials import UNITS, QcStatus

UNIT_CHOICES = sorted(UNITS)
REASON = [DataRequired(), Length(min=3, max=500)]
CODE = [DataRequired(), Length(max=64)]


class MaterialForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Create or update a material by code."""

    code = StringField("Material code", validators=CODE)
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    unit = SelectField("Unit", choices=UNIT_CHOICES)
    reason = StringField("Reason", validators=REASON)


class LotForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Create or update a lot by (material, lot number)."""

    material_code = StringField("Material code", validators=CODE)
    lot_number = StringField("Lot number", validators=CODE)
    qc_status = SelectField("QC status", choices=[s.value for s in QcStatus])
    expiry = DateField("Expiry date", validators=[InputRequired()])
    quantity = StringField("Quantity (optional)", validators=[Optional(), Length(max=40)])
    reason = StringField("Reason", validators=REASON)


class ContainerForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Create or update a container by barcode."""

    barcode = StringField("Barcode", validators=CODE)
    material_code = StringField("Material code", validators=CODE)
    lot_number = StringField("Lot number", validators=CODE)
    quantity = StringField("Quantity", validators=[DataRequired(), Length(max=40)])
    unit = SelectField("Unit", choices=UNIT_CHOICES)
    reason = StringField("Reason", validators=REASON)


class IdentifyForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Scan a container against the material a step needs (read only, so no CSRF token is needed)."""

    class Meta:
        csrf = False

    barcode = StringField("Barcode", validators=CODE)
    material = StringField("Expected material", validators=CODE)
