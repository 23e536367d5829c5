"""The ERP's inbound API: production orders and master data as JSON or B2MML, by bearer token (ERP-01).

No cookies and no CSRF (the client holds a token, not a session). The body is read here at most one byte past the
size a message may have, so the use case itself refuses an oversized message and audits the refusal with the
client's identity.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.wrappers import Response

from ebr.app.inbound import MAX_MESSAGE_BYTES, InboundAnswer, InboundMessage, refusal_status
from ebr.app.ports import ApiClient
from ebr.domain.accounts import Permission
from ebr.domain.errors import DomainError
from ebr.web.principal import info, services
from ebr.web.routes import api

bp = Blueprint("erp", __name__, url_prefix="/api/erp")
# Endpoints whose view reads the body itself under MAX_MESSAGE_BYTES (the form limit of the app does not apply).
BODY_ENDPOINTS = frozenset({"erp.orders", "erp.materials"})
CHUNK = 64 * 1024


@bp.route("/orders", methods=["POST"])
@api(Permission.ERP_INBOUND)
def orders() -> tuple[Response, int]:
    """Production orders (JSON or B2MML OperationsSchedule): created planned, updated until their batch starts."""
    return _answer(services().inbound.orders(_message()))


@bp.route("/materials", methods=["POST"])
@api(Permission.ERP_INBOUND)
def materials() -> tuple[Response, int]:
    """Materials and lots with QC status and expiry (JSON or B2MML material master), upserted by their keys."""
    return _answer(services().inbound.master_data(_message()))


@bp.route("/orders/<order_number>")
@api(Permission.ERP_INBOUND)
def order(order_number: str) -> Response:
    """One order's content, plan and state, and its batch's status once started."""
    return jsonify(services().inbound.order(_client(), order_number))


@bp.errorhandler(DomainError)
def refused(error: DomainError) -> tuple[Response, int]:
    """A refusal in JSON: the status, the refusal's name and the reason (the use case has audited it)."""
    return jsonify({"status": "refused", "error": type(error).__name__, "message": str(error)}), refusal_status(error)


def _answer(answer: InboundAnswer) -> tuple[Response, int]:
    return jsonify(answer.body), answer.status


def _client() -> ApiClient:
    client = g.get("api_client")
    assert isinstance(client, ApiClient), "the route class check authenticates every api route first"
    return client


def _message() -> InboundMessage:
    key = request.headers.get("Idempotency-Key")
    if key is not None and len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]  # the header is a structured-field string, which may come quoted
    return InboundMessage(_client(), request.mimetype, _body(), key, info())


def _body() -> bytes:
    """The body, read up to one byte past the limit: enough for the use case to tell it is too large."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_MESSAGE_BYTES:
        chunk = request.stream.read(min(CHUNK, MAX_MESSAGE_BYTES + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
