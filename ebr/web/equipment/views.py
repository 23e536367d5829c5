"""Equipment instances: the list with status, one instance with its endpoint, signed logbook and uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from ebr.app.equipment_logbook import OBJECT_TYPE, SIGNED_KINDS, SOILED
from ebr.domain.accounts import Permission
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance, check_instance
from ebr.domain.errors import Conflict, InvalidInput, NotFound
from ebr.web.equipment.forms import EditForm, LogbookForm, RegisterForm, SignEntryForm
from ebr.web.principal import actor, info, services
from ebr.web.routes import page
from ebr.web.signing.views import start

bp = Blueprint("equipment", __name__, url_prefix="/equipment")


class CodeConverter(BaseConverter):
    """An equipment id as one URL segment: the '/' ids may hold travels as '~', which no id contains."""

    regex = r"[A-Za-z0-9][A-Za-z0-9._~-]{0,63}"

    def to_python(self, value: str) -> str:
        return value.replace("~", "/")

    def to_url(self, value: str) -> str:
        return super().to_url(value.replace("/", "~"))


@bp.record_once
def _add_converter(state: BlueprintSetupState) -> None:
    # Recorded before any route, so the converter exists when the blueprint's rules are added to the URL map.
    state.app.url_map.converters.setdefault("equipment", CodeConverter)


def _checked(form: Any) -> Any:
    if not form.validate_on_submit():
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()) or "Invalid form.")
    return form


def _text(field: Any) -> str:
    return str(field.data or "").strip()


def _endpoint(form: Any) -> Endpoint | None:
    """The endpoint the form names; no host means no device to read, and empty numbers take their defaults."""
    host = _text(form.host)
    numbers = (form.port, form.unit_id, form.timeout_s, form.retries)
    if not host:
        if any(f.data is not None for f in numbers):
            raise InvalidInput("Device endpoint: a port, unit id, timeout or retries need a host.")
        return None
    d = Endpoint(host)
    return Endpoint(
        host,
        _number(form.port, d.port),
        _number(form.unit_id, d.unit_id),
        _number(form.timeout_s, d.timeout_s),
        _number(form.retries, d.retries),
    )


def _number(field: Any, fallback: object) -> Any:
    return fallback if field.data is None else field.data


def _validity(raw: str) -> date | None:
    """A date ('2027-05-01') or a UTC date and time ('2026-11-26T17:00', as a browser sends it)."""
    if not raw:
        return None
    try:
        if "T" in raw or " " in raw:
            moment = datetime.fromisoformat(raw)
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"Valid until: {raw[:40]!r} is not a date (2027-05-01) or a date and time.") from None


def badges(instance: EquipmentInstance, now: datetime) -> list[tuple[str, bool]]:
    """The status as short texts, each flagged when it keeps the instance from use."""
    clock = "%Y-%m-%dT%H:%M:%SZ"
    until, due, qualified = instance.clean_until, instance.calibration_due, instance.qualified_until
    found = [("in service", False) if instance.in_service else ("out of service", True)]
    if not instance.clean:
        found.append(("not clean", True))
    elif until is not None:
        expired = now >= until
        found.append((f"cleaning {'expired' if expired else 'valid until'} {until.strftime(clock)}", expired))
    else:
        found.append(("clean", False))
    if due is not None:
        overdue = now.date() > due
        found.append((f"calibration {'overdue since' if overdue else 'due'} {due.isoformat()}", overdue))
    if qualified is not None:
        lapsed = now.date() > qualified
        found.append((f"qualification {'lapsed on' if lapsed else 'valid until'} {qualified.isoformat()}", lapsed))
    return found


def _register_form() -> RegisterForm:
    form = RegisterForm()
    form.class_id.choices = services().equipment.classes()
    return form


@bp.route("/")
@page(Permission.EQUIPMENT_VIEW)
def index() -> str:
    """Every instance with its status; filtered by class when one is chosen."""
    eq, now = services().equipment, services().clock.now()
    chosen = request.args.get("class", "").strip()[:64]
    rows = [
        (s, badges(s.instance, now), check_instance(s.instance.code, s.instance, "", now))
        for s in eq.list(chosen or None)
    ]
    return render_template(
        "equipment/index.html", rows=rows, classes=eq.classes(), chosen=chosen, register_form=_register_form()
    )


@bp.route("/", methods=["POST"])
@page(Permission.EQUIPMENT_MANAGE)
def register() -> Response:
    """Register an instance: not clean, no calibration recorded, until its logbook says so."""
    form = _checked(_register_form())
    instance = EquipmentInstance(
        _text(form.code),
        form.class_id.data,
        _text(form.description),
        _text(form.location),
        _endpoint(form),
        in_service=bool(form.in_service.data),
    )
    services().equipment.register(actor(), instance, form.reason.data, info())
    flash(f"Equipment {instance.code} registered.", "success")
    return redirect(url_for("equipment.detail", code=instance.code))


@bp.route("/<equipment:code>")
@page(Permission.EQUIPMENT_VIEW)
def detail(code: str) -> str:
    """Status, endpoint, the edit form, the logbook with its signatures, and every use by a batch."""
    eq, now = services().equipment, services().clock.now()
    stored = eq.get(code)
    instance, endpoint = stored.instance, stored.instance.endpoint
    edit_form = EditForm(
        version=stored.version,
        description=instance.description,
        location=instance.location,
        in_service=instance.in_service,
        host=endpoint.host if endpoint else "",
        port=endpoint.port if endpoint else None,
        unit_id=endpoint.unit_id if endpoint else None,
        timeout_s=endpoint.timeout_s if endpoint else None,
        retries=endpoint.retries if endpoint else None,
    )
    return render_template(
        "equipment/detail.html",
        stored=stored,
        badges=badges(instance, now),
        readiness=check_instance(code, instance, "", now),
        logbook=eq.logbook(code),
        uses=eq.uses(code),
        batch_uses=eq.batches(code),
        edit_form=edit_form,
        log_form=LogbookForm(),
        sign_form=SignEntryForm(),
        signed_kinds=SIGNED_KINDS,
    )


@bp.route("/<equipment:code>", methods=["POST"])
@page(Permission.EQUIPMENT_MANAGE)
def update(code: str) -> Response:
    """Change description, location, endpoint or service state; the version guards against a lost update."""
    form = _checked(EditForm())
    current = services().equipment.get(code).instance
    wanted = replace(
        current,
        description=_text(form.description),
        location=_text(form.location),
        endpoint=_endpoint(form),
        in_service=bool(form.in_service.data),
    )
    services().equipment.update(actor(), code, wanted, form.version.data, form.reason.data, info())
    flash(f"Equipment {code} changed.", "success")
    return redirect(url_for("equipment.detail", code=code))


@bp.route("/<equipment:code>/logbook", methods=["POST"])
@page(Permission.EQUIPMENT_LOG)
def record(code: str) -> Response:
    """Request a logbook entry; a cleaning, calibration or qualification goes on to the signing dialog."""
    form = _checked(LogbookForm())
    kind = form.kind.data
    valid_until = _validity(_text(form.valid_until))
    entry_id = services().equipment.request_log_entry(
        actor(), code, kind, form.detail.data or "", valid_until, form.reason.data, info()
    )
    back = url_for("equipment.detail", code=code)
    if kind == SOILED:
        flash(f"{code} is marked soiled: it is not clean until a signed cleaning.", "success")
        return redirect(back)
    return start(OBJECT_TYPE, str(entry_id), kind, back)


@bp.route("/<equipment:code>/logbook/<int:entry_id>/sign", methods=["POST"])
@page(Permission.EQUIPMENT_LOG)
def sign_entry(code: str, entry_id: int) -> Response:
    """Sign an entry that was requested but not signed yet (its dialog was left, or expired)."""
    _checked(SignEntryForm())
    found = next((line.entry for line in services().equipment.logbook(code) if line.entry.id == entry_id), None)
    if found is None:
        raise NotFound(f"The logbook of {code} has no entry {entry_id}.")
    if found.status != "pending":
        raise Conflict(f"Logbook entry {entry_id} is {found.status} already.")
    return start(OBJECT_TYPE, str(entry_id), found.kind, url_for("equipment.detail", code=code))
