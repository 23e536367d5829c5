"""The step page's script talks to these: one value saved or captured per request, and the calculated values.

They are browser endpoints of the logged-in session (CSRF token in the X-CSRFToken header), not bearer-token API
routes; under /api/ their refusals are answered as JSON.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from ebr.app.execution_corrections import OutOfLimit
from ebr.domain.accounts import Permission
from ebr.domain.equipment import DeviceFault
from ebr.web.batches.common import bp
from ebr.web.batches.entries import entry_from_json, save, saved_message
from ebr.web.batches.equipment import capture_from_json, capture_value, captured_json
from ebr.web.principal import services
from ebr.web.routes import page


@bp.route("/api/batches/<batch_id>/steps/<int:step_pk>/values", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def api_enter(batch_id: str, step_pk: int) -> Response | tuple[Response, int]:
    """Save one value at once (TIME-03); an out-of-limit value answers 409 until it is confirmed (SEQ-09)."""
    entry = entry_from_json(request.get_json(silent=True))
    try:
        field, value = save(batch_id, step_pk, entry)
    except OutOfLimit as refused:
        body = {"error": "OutOfLimit", "message": str(refused), "field": refused.field_id, "confirm": True}
        return jsonify(body), 409
    return jsonify(
        {
            "saved": True,
            "field": field.id,
            "value": value.value,
            "unit": value.unit,
            "captured_at": value.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "late": value.late,
            "deviation": value.deviation_id is not None,
            "message": saved_message(field, value),
        }
    )


@bp.route("/api/batches/<batch_id>/steps/<int:step_pk>/capture", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def api_capture(batch_id: str, step_pk: int) -> Response | tuple[Response, int]:
    """Read a device-bound field from the instance in use and store it (DEV-01); a device fault answers 503 with its
    kind and the operator's message, nothing stored (DEV-02)."""
    field_id, equipment_code = capture_from_json(request.get_json(silent=True))
    try:
        field, value = capture_value(batch_id, step_pk, field_id, equipment_code)
    except DeviceFault as fault:
        return jsonify({"error": "DeviceFault", "kind": str(fault.kind), "message": str(fault)}), 503
    return jsonify(captured_json(field, value))


@bp.route("/api/batches/<batch_id>/steps/<int:step_pk>/calculated")
@page(Permission.BATCH_VIEW)
def api_calculated(batch_id: str, step_pk: int) -> Response:
    """The step's calculated fields from the values recorded so far: {field id: text}."""
    return jsonify(services().execution.calculate(batch_id, step_pk))
