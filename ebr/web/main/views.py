"""Home and about pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from ebr.domain.accounts import Permission
from ebr.web.principal import services
from ebr.web.routes import page

bp = Blueprint("main", __name__)


@bp.route("/")
@page(Permission.SELF)
def home() -> str:
    """The start page: what this user may do."""
    return render_template("main/home.html")


@bp.route("/about")
@page(Permission.SYSTEM_READ)
def about() -> str:
    """Software identity for validation (VAL-04)."""
    return render_template("main/about.html", version=services().system.version)
