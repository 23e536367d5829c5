"""Production order forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ebr.domain.materials import UNITS

CODE = [DataRequired(), Length(max=64)]


class OrderForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A new planned order."""

    order_number = StringField("Order number", validators=CODE)
    product_code = StringField("Product code", validators=CODE)
    planned_quantity = StringField("Planned quantity", validators=[DataRequired(), Length(max=40)])
    unit = SelectField("Unit", choices=sorted(UNITS))
    batch_id = StringField("Batch id", validators=CODE)
    due_date = DateField("Due date (optional)", validators=[Optional()])
    reason = StringField("Reason (optional)", validators=[Optional(), Length(min=3, max=500)])


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button that only needs the CSRF token."""


class CancelForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Cancel an order with the reason."""

    reason = StringField("Reason", validators=[DataRequired(), Length(min=3, max=500)])
