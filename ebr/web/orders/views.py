"""Production orders: the list, creating a planned order, releasing it for execution, cancelling it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import parse_quantity
from ebr.domain.orders import ProductionOrder
from ebr.web.orders.forms import ActionForm, CancelForm, OrderForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _checked(form: Any) -> Any:
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


def _text(field: Any) -> str:
    return str(field.data or "").strip()


@bp.route("/")
@page(Permission.BATCH_VIEW)
def index() -> str:
    """Every order with its status, newest first."""
    return render_template(
        "orders/index.html",
        orders=services().orders.list(),
        products=[code for code, _ in services().procedures.product_mapping()],
        order_form=OrderForm(),
        action_form=ActionForm(),
        cancel_form=CancelForm(),
    )


@bp.route("/", methods=["POST"])
@page(Permission.ORDER_MANAGE)
def create() -> Response:
    """A new planned order; order number and batch id must be new."""
    form = _checked(OrderForm())
    order = ProductionOrder(
        order_number=_text(form.order_number),
        product_code=_text(form.product_code),
        planned_quantity=parse_quantity(_text(form.planned_quantity), "Planned quantity"),
        unit=form.unit.data,
        batch_id=_text(form.batch_id),
        due_date=form.due_date.data,
    )
    stored = services().orders.create(actor(), order, _text(form.reason) or "order created", info())
    flash(f"Order {stored.order.order_number} for batch {stored.order.batch_id} is planned.", "success")
    return redirect(url_for("orders.index"))


@bp.route("/<int:order_id>/release", methods=["POST"])
@page(Permission.ORDER_MANAGE)
def release(order_id: int) -> Response:
    """Release a planned order; its product needs an effective procedure version."""
    _checked(ActionForm())
    stored = services().orders.release(actor(), order_id, info())
    flash(f"Order {stored.order.order_number} is released for execution.", "success")
    return redirect(url_for("orders.index"))


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@page(Permission.ORDER_MANAGE)
def cancel(order_id: int) -> Response:
    """Cancel a planned or released order with the reason."""
    form = _checked(CancelForm())
    stored = services().orders.cancel(actor(), order_id, form.reason.data, info())
    flash(f"Order {stored.order.order_number} is cancelled.", "success")
    return redirect(url_for("orders.index"))
