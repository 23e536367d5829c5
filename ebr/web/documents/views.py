"""Downloads of batch-record copies; every download is audited by the service with what was handed out (PDF-06).

Stored PDFs go out byte for byte as stored; a draft PDF and the JSON and XML copies are made from the record as it
is at the request. Nothing here is cached by the browser or a proxy: a copy is a controlled document.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ebr.domain.accounts import Permission
from ebr.domain.errors import InvalidInput
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

bp = Blueprint("documents", __name__, url_prefix="/batches")


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)  # batch ids come from the ERP: keep the header well-formed
    return Response(
        content,
        mimetype=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"},
    )


@bp.route("/<batch_id>/documents/<int:document_id>.pdf")
@page(Permission.BATCH_VIEW)
def document(batch_id: str, document_id: int) -> Response:
    """A stored record PDF (release candidate, released or rejected record, addendum), exactly as stored."""
    pdf = services().documents.download(actor(), document_id, batch_id, info())
    return _attachment(pdf, "application/pdf", f"{batch_id}-document-{document_id}.pdf")


@bp.route("/<batch_id>/record.pdf")
@page(Permission.BATCH_VIEW)
def record_pdf(batch_id: str) -> Response:
    """A draft copy of the record as it is now, watermarked NOT RELEASED; ?draft=1 says so explicitly."""
    if request.args.get("draft", "1") != "1":
        raise InvalidInput("Only a draft copy is made on request; the released record is a stored document.")
    pdf = services().documents.draft(batch_id, actor(), info())
    return _attachment(pdf, "application/pdf", f"{batch_id}-record-draft.pdf")


@bp.route("/<batch_id>/record.json")
@page(Permission.BATCH_VIEW)
def record_json(batch_id: str) -> Response:
    """The electronic copy: the canonical record (its SHA-256 is the record hash); ?as_of=<ISO time with zone> gives
    the record as it stood then (AUD-11)."""
    moment = request.args.get("as_of", "").strip()
    if not moment:
        content = services().documents.record_json(batch_id, actor(), info())
        return _attachment(content, "application/json", f"{batch_id}-record.json")
    content = services().documents.record_json_as_of(batch_id, _moment(moment), actor(), info())
    return _attachment(content, "application/json", f"{batch_id}-record-as-of.json")


def _moment(text: str) -> datetime:
    """An ISO 8601 time with its zone; a browser's datetime-local field is read as UTC, as the page says."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"'{text}' is not an ISO 8601 time.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@bp.route("/<batch_id>/record.xml")
@page(Permission.BATCH_VIEW)
def record_xml(batch_id: str) -> Response:
    """The electronic copy as BatchML (ISA-88 Part 4)."""
    content = services().documents.record_xml(batch_id, actor(), info())
    return _attachment(content, "application/xml", f"{batch_id}-record.xml")
