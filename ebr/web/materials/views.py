"""Master data copied from the ERP: materials, lots with QC status and expiry, containers, and the identity check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.domain.materials import Container, Material, MaterialLot, QcStatus, parse_quantity
from ebr.web.materials.forms import ContainerForm, IdentifyForm, LotForm, MaterialForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

bp = Blueprint("materials", __name__, url_prefix="/materials")


def _checked(form: Any) -> Any:
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


def _text(field: Any) -> str:
    return str(field.data or "").strip()


def _quantity(field: Any) -> Decimal | None:
    raw = _text(field)
    return parse_quantity(raw, field.label.text) if raw else None


@bp.route("/")
@page(Permission.BATCH_VIEW)
def index() -> str:
    """Materials, lots with QC status and expiry, and containers."""
    md = services().masterdata
    return render_template(
        "materials/index.html",
        materials=md.materials(),
        lots=md.lots(),
        containers=md.containers(),
        today=services().clock.now().date(),
        material_form=MaterialForm(),
        lot_form=LotForm(),
        container_form=ContainerForm(),
    )


def _done(what: str, outcome: str) -> Response:
    flash(f"{what}: {outcome}.", "success")
    return redirect(url_for("materials.index"))


@bp.route("/", methods=["POST"])
@page(Permission.MASTERDATA_MANAGE)
def save_material() -> Response:
    """Create or update a material; the same data again changes nothing."""
    form = _checked(MaterialForm())
    material = Material(_text(form.code), _text(form.name), form.unit.data)
    outcome = services().masterdata.put_material(actor(), material, form.reason.data, info())
    return _done(f"Material {material.code}", outcome)


@bp.route("/lots", methods=["POST"])
@page(Permission.MASTERDATA_MANAGE)
def save_lot() -> Response:
    """Create or update a lot with its QC status and expiry."""
    form = _checked(LotForm())
    code, number, status = _text(form.material_code), _text(form.lot_number), QcStatus(form.qc_status.data)
    lot = MaterialLot(code, number, status, form.expiry.data, _quantity(form.quantity))
    outcome = services().masterdata.put_lot(actor(), lot, form.reason.data, info())
    return _done(f"Lot {lot.lot_number} of {lot.material_code}", outcome)


@bp.route("/containers", methods=["POST"])
@page(Permission.MASTERDATA_MANAGE)
def save_container() -> Response:
    """Create or update a container of a known lot."""
    form = _checked(ContainerForm())
    quantity = _quantity(form.quantity)
    if quantity is None:
        raise InvalidInput("Quantity: a container holds a positive quantity.")
    container = Container(
        _text(form.barcode), _text(form.material_code), _text(form.lot_number), quantity, form.unit.data
    )
    outcome = services().masterdata.put_container(actor(), container, form.reason.data, info())
    return _done(f"Container {container.barcode}", outcome)


@bp.route("/identify")
@page(Permission.BATCH_VIEW)
def identify() -> str:
    """Check a scanned barcode against the material a step needs: right material, released, not expired."""
    form = IdentifyForm(request.args)
    result = None
    if request.args:
        if not form.validate():
            raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        result = services().masterdata.identify(_text(form.barcode), _text(form.material))
    return render_template("materials/identify.html", form=form, result=result)
