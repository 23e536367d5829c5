"""Machine endpoints: health and the OpenAPI document (public), version (token)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.web.api.openapi import document
from ebr.web.principal import services
from ebr.web.routes import api, public

bp = Blueprint("api", __name__)


@bp.route("/health")
@public()
def health() -> Response:
    """Liveness for load balancers; tells nothing about the data."""
    return jsonify({"status": "ok"})


@bp.route("/api/version")
@api(Permission.SYSTEM_READ)
def version() -> Response:
    """The exact software version and build commit (VAL-04)."""
    v = services().system.version
    return jsonify({"version": v.version, "commit": v.commit, "build": str(v)})


@bp.route("/api/openapi.json")
@public()
def openapi() -> Response:
    """The OpenAPI 3.1 document of the machine API: the contract only, no data (see ebr/web/api/openapi.py)."""
    return jsonify(document(services().system.version.version))
