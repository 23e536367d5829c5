"""Equipment at a step: scanning the step's instance in, capturing a device-bound field, and the printable label of
a dispensed container."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from barcode.codex import Code128  # type: ignore[import-untyped]  # python-barcode ships no type information
from barcode.errors import BarcodeError  # type: ignore[import-untyped]  # as above
from flask import flash, redirect, render_template, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from ebr.app.ports import StoredValue
from ebr.app.scans import ScanRefused
from ebr.domain.accounts import Permission
from ebr.domain.equipment import DeviceFault
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.domain.steps import FieldDefinition
from ebr.web.batches.common import bp, checked, people, step_url, text
from ebr.web.batches.forms import CaptureForm, EquipmentScanForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page

QUIET_ZONE = 10  # white modules either side of the bars: Code 128 asks for ten times the narrowest bar
BAR_HEIGHT = 40  # in modules; the stretched SVG takes the height the label's CSS gives it
MAX_CODE = 64


@bp.app_template_global()
def equipment_url(code: str) -> str:
    """An instance's page with its logbook: one click from any step or batch that used it."""
    return url_for("equipment.detail", code=code)


def _back(batch_id: str, step_pk: int) -> str:
    return url_for("batches.step", batch_id=batch_id, step_pk=step_pk, _anchor="equipment")


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/equipment", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def check_in(batch_id: str, step_pk: int) -> Response:
    """Scan the step's own equipment: in use when it passes its check, else the recorded refusal's reason (SEQ-07)."""
    form = checked(EquipmentScanForm())
    try:
        use = services().capture.check_in(actor(), batch_id, step_pk, text(form.barcode), info())
    except ScanRefused as refused:  # recorded before it was raised: the step's checks list it
        flash(f"Refused: {refused}", "error")
        return redirect(_back(batch_id, step_pk))
    except InvalidInput as refused:
        flash(f"Not checked in: {refused}", "error")
        return redirect(_back(batch_id, step_pk))
    flash(f"{use.equipment_code} ({use.class_id}) is in use at this step: {use.status}.", "success")
    return redirect(_back(batch_id, step_pk))


def capture_value(
    batch_id: str, step_pk: int, field_id: str, equipment_code: str = ""
) -> tuple[FieldDefinition, StoredValue]:
    """Read the field's tag from the instance in use and store it (DEV-01); a fault raises DeviceFault (DEV-02)."""
    field = services().execution.field(batch_id, step_pk, field_id)  # another batch's step or a forged id: 404
    return field, services().capture.capture(actor(), batch_id, step_pk, field.id, info(), equipment_code)


def captured_message(field: FieldDefinition, value: StoredValue) -> str:
    """What the operator sees once the reading is stored."""
    read_at = value.device_time or value.captured_at
    shown = f"{value.value} {value.unit}".strip()
    message = f"Captured {field.label} = {shown} from {value.equipment_code} at {read_at.strftime('%H:%M:%SZ')}."
    if value.deviation_id is not None:
        message += f" Outside {value.limit_text}: a deviation was opened, see the batch page."
    return message


def captured_json(field: FieldDefinition, value: StoredValue) -> dict[str, object]:
    """The stored reading as the step page's script shows it."""
    read_at = value.device_time or value.captured_at
    return {
        "saved": True,
        "field": field.id,
        "value": value.value,
        "unit": value.unit,
        "equipment": value.equipment_code,
        "read_at": read_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "raw": value.raw,
        "deviation": value.deviation_id is not None,
        "message": captured_message(field, value),
    }


def capture_from_json(data: object) -> tuple[str, str]:
    """The JSON body {field, equipment} as (field id, equipment code or "")."""
    if not isinstance(data, dict):
        raise InvalidInput('Send a JSON object: {"field": "..."}.')
    field, equipment = data.get("field"), data.get("equipment") or ""
    if not isinstance(field, str) or not field or len(field) > 100:
        raise InvalidInput("Name the field: text of at most 100 characters.")
    if not isinstance(equipment, str) or len(equipment) > MAX_CODE:
        raise InvalidInput(f"'equipment' is text of at most {MAX_CODE} characters.")
    return field, equipment


@bp.route("/batches/<batch_id>/steps/<int:step_pk>/capture", methods=["POST"])
@page(Permission.BATCH_EXECUTE)
def capture(batch_id: str, step_pk: int) -> Response:
    """Capture without the page's script: read and stored at once, then back to the field with the outcome."""
    form = checked(CaptureForm())
    field_id = text(form.field)
    try:
        field, value = capture_value(batch_id, step_pk, field_id, text(form.equipment))
    except DeviceFault as fault:  # audited by the use case; the operator retries or types over it with a reason
        flash(f"Not captured: {fault}", "error")
    except (Conflict, InvalidInput) as refused:  # e.g. nothing scanned in yet: the step page says what to do
        flash(f"Not captured: {refused}", "error")
    else:
        flash(captured_message(field, value), "success")
    return redirect(step_url(batch_id, step_pk, field_id))


@bp.route("/batches/<batch_id>/labels/<path:code>")
@page(Permission.BATCH_VIEW)
def label(batch_id: str, code: str) -> str:
    """The printable label of a container dispensed for this batch (`code`: its barcode), drawn as Code 128."""
    view = services().execution.batch(batch_id)
    dispensed = next((d for d in view.dispensings if d.label == code), None)
    if dispensed is None:
        raise NotFound(f"No container labelled {code[:MAX_CODE]!r} was dispensed for batch {batch_id}.")
    material = next((m for m in services().masterdata.materials() if m.code == dispensed.material_code), None)
    return render_template(
        "batches/label.html",
        batch=view.batch.batch,
        dispensed=dispensed,
        material=material,
        people=people(),
        barcode=code128_svg(dispensed.label),
    )


def code128_modules(code: str) -> str:
    """The bars and spaces of a Code 128 symbol ("1" a dark module), with its check character and stop pattern."""
    built: list[Any] = Code128(code).build()
    return str(built[0])


def code128_svg(code: str) -> Markup | None:
    """The code as an inline Code 128 SVG; None if it holds a character Code 128 cannot carry.

    Bars are drawn with presentation attributes, not style attributes, so the page's CSP (no inline styles) keeps
    them; the viewBox is in modules, so the symbol scales to the label without changing its proportions.
    """
    try:
        modules = code128_modules(code)
    except BarcodeError:
        return None
    bars, x = [], QUIET_ZONE
    for bit, run in groupby(modules):
        width = len(list(run))
        if bit == "1":
            bars.append(f'<rect x="{x}" y="0" width="{width}" height="{BAR_HEIGHT}"/>')
        x += width
    name = escape(code)
    return Markup(  # noqa: S704  # the only text in it is escaped; the rest are numbers
        f'<svg xmlns="http://www.w3.org/2000/svg" class="code128" viewBox="0 0 {x + QUIET_ZONE} {BAR_HEIGHT}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" fill="#000" role="img" '
        f'aria-label="Code 128 barcode {name}"><title>{name}</title>{"".join(bars)}</svg>'
    )
