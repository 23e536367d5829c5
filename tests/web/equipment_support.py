"""Helpers of the equipment page tests: a quick check weighing against the simulated balance, and a dispensing."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import Dispensing, StoredValue
from ebr.bootstrap import Runtime
from ebr.domain.equipment import Endpoint
from tests.app.execution_support import Floor, advance_to, instance_code, running_batch
from tests.factories import csrf_token
from tests.web.batch_support import browser_of, step_pk

BALANCE = instance_code("balance")  # the clean, calibrated balance the floor is seeded with, wired to the plant


def weighing_floor(runtime: Runtime, plant: SimulatedPlant) -> Floor:
    """A quick check at its weighing step, its balance scanned at identification and answering on loopback."""
    floor = running_batch(runtime, endpoint=Endpoint("127.0.0.1", plant.port, 1, 0.3, 0))
    advance_to(floor, runtime.services.clock.now(), "qc_weigh")
    return floor


def operator_at(app: Flask, floor: Floor, step_id: str) -> tuple[FlaskClient, str]:
    """The operator's browser and the path of the step's page."""
    return browser_of(app, floor.operator.user.username), f"/batches/{floor.batch_id}/steps/{step_pk(floor, step_id)}"


def post_form(browser: FlaskClient, page: str, action: str, data: dict[str, str]) -> TestResponse:
    """Submit a form of the step page as the browser would without its script."""
    return browser.post(f"{page}/{action}", data={"csrf_token": csrf_token(browser, page), **data})


def post_json(browser: FlaskClient, page: str, action: str, body: dict[str, object]) -> TestResponse:
    """POST as the step page's script does: JSON to /api/..., the session's CSRF token in the header."""
    return browser.post(f"/api{page}/{action}", json=body, headers={"X-CSRFToken": csrf_token(browser, page)})


def values_of(floor: Floor, step_id: str, field_id: str) -> list[StoredValue]:
    """Every value the field held at the step's open pass."""
    view = floor.rt.services.execution.step(floor.batch_id, step_pk(floor, step_id))
    return next(f.history for f in view.fields if f.field.id == field_id)


def dispensed(floor: Floor, step_id: str, label: str) -> Dispensing:
    """A container weighed out at the step, stored as signing a dispensing step stores it (the weigh-and-dispense
    use case is proven in the application tests; here only its pages are)."""
    rt = floor.rt
    view = rt.services.execution.batch(floor.batch_id)
    now = rt.services.clock.now()
    record = Dispensing(
        0,
        view.batch.id,
        step_pk(floor, step_id),
        "MCC-101",
        "L-MCC-101",
        "C-MCC-101",
        label,
        Decimal("0.245"),
        Decimal("1.250"),
        Decimal("1.005"),
        "kg",
        Decimal("1.000"),
        Decimal("0.010"),
        True,
        BALANCE,
        now,
        floor.operator.user.id,
        "kiosk-7",
    )
    with rt.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        stored = uow.dispensings.add(record)
        uow.commit()
    return stored
