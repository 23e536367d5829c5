"""QA's view of the audit trail: filter and export (AUD-08)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, request

from ebr.app.ports import AuditFilter
from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

bp = Blueprint("trail", __name__, url_prefix="/audit")


def _moment(raw: str, field: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: use ISO 8601, e.g. 2026-11-25T09:14:03Z.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # dates typed without a zone are UTC


def _filter(source: dict[str, str]) -> AuditFilter:
    return AuditFilter(
        username=source.get("username", "").strip()[:64],
        object_type=source.get("object_type", "").strip()[:64],
        object_id=source.get("object_id", "").strip()[:128],
        action=source.get("action", "").strip()[:32],
        batch=source.get("batch", "").strip()[:64],
        since=_moment(source.get("since", "").strip(), "From"),
        until=_moment(source.get("until", "").strip(), "To"),
    )


@bp.route("/")
@page(Permission.AUDIT_READ)
def index() -> str:
    """The filtered trail, newest last."""
    flt = _filter(request.args.to_dict())
    entries = services().trail.query(flt, limit=1000)
    return render_template("trail/index.html", entries=entries, args=request.args)


@bp.route("/export", methods=["POST"])
@page(Permission.AUDIT_EXPORT)
def export() -> Response:
    """CSV, JSON or PDF of the filtered trail; the export is itself audited."""
    flt = _filter(request.form.to_dict())
    result = services().trail.export(actor(), flt, request.form.get("format", ""), info())
    return Response(
        result.content,
        mimetype=result.media_type,
        headers={"Content-Disposition": f"attachment; filename={result.filename}", "X-Entry-Count": str(result.count)},
    )
