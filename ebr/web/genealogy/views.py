"""Backward and forward tracing of lots (211.188(b)(3)): a page and a JSON answer for a batch and for a lot.

The JSON routes belong to the logged-in session like the batch pages' own /api/ endpoints; under /api/ their
refusals are answered as JSON.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from ebr.app.genealogy import BatchGenealogy, GenealogyService, LotGenealogy
from ebr.domain.accounts import Permission
from ebr.domain.audit import to_utc_text
from ebr.web.principal import services
from ebr.web.routes import page

bp = Blueprint("genealogy", __name__)


def _genealogy() -> GenealogyService:
    # A read-only service over the unit of work and the clock the app already holds.
    svc = services()
    return GenealogyService(svc.uow, svc.clock)


def _plain(value: object) -> object:
    """JSON as the record writes it: decimals as text, times as UTC text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return to_utc_text(value)
    return value


def as_json(found: BatchGenealogy | LotGenealogy) -> object:
    """A genealogy as plain JSON."""
    return _plain(asdict(found))


@bp.route("/genealogy/batches/<batch_id>")
@page(Permission.BATCH_VIEW)
def batch(batch_id: str) -> str:
    """The lots a batch consumed and the lot it produces."""
    return render_template("genealogy/batch.html", genealogy=_genealogy().of_batch(batch_id))


@bp.route("/genealogy/lots/<material_code>/<lot_number>")
@page(Permission.BATCH_VIEW)
def lot(material_code: str, lot_number: str) -> str:
    """Every batch that consumed a lot, and the batch that made it."""
    return render_template("genealogy/lot.html", genealogy=_genealogy().of_lot(material_code, lot_number))


@bp.route("/api/genealogy/batches/<batch_id>")
@page(Permission.BATCH_VIEW)
def api_batch(batch_id: str) -> Response:
    """The batch's genealogy as JSON."""
    return jsonify(as_json(_genealogy().of_batch(batch_id)))


@bp.route("/api/genealogy/lots/<material_code>/<lot_number>")
@page(Permission.BATCH_VIEW)
def api_lot(material_code: str, lot_number: str) -> Response:
    """The lot's genealogy as JSON."""
    return jsonify(as_json(_genealogy().of_lot(material_code, lot_number)))
