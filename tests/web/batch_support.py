"""Helpers of the batch page tests: a running quick check, browsers of its people, and JSON entries."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.bootstrap import Runtime
from ebr.domain.orders import ProductionOrder
from tests.app.execution_support import Floor
from tests.factories import actor_of, csrf_token, login

OVERRIDE = "balance display failed"


def browser_of(app: Flask, username: str) -> FlaskClient:
    """A new browser logged in through the form as this person."""
    browser = app.test_client()
    assert login(browser, username) == 302
    return browser


def step_pk(floor: Floor, step_id: str) -> int:
    """The record id of the step's open pass."""
    return floor.step(step_id).record.id


def enter_json(
    browser: FlaskClient, batch_id: str, pk: int, body: dict[str, Any], token: str | None = None
) -> TestResponse:
    """POST one value as the step page's script does: JSON, with the session's CSRF token in the header."""
    headers = {"X-CSRFToken": token if token is not None else csrf_token(browser, f"/batches/{batch_id}")}
    return browser.post(f"/api/batches/{batch_id}/steps/{pk}/values", json=body, headers=headers)


def weighing(value: str = "1.005", **extra: object) -> dict[str, Any]:
    """The quick check's net mass, typed over the balance with a reason."""
    return {"field": "qc_mass", "value": value, "unit": "kg", "override_reason": OVERRIDE, **extra}


def second_batch(rt: Runtime, floor: Floor, number: str = "9002") -> str:
    """Another quick check batch of the same product, started by the floor's operator."""
    order = ProductionOrder(f"PO-{number}", "QC-SAMPLE", Decimal("10"), "kg", f"B-{number}")
    stored = rt.services.orders.create(actor_of(floor.supervisor.user), order)
    rt.services.orders.release(actor_of(floor.supervisor.user), stored.id)
    rt.services.batches.start(actor_of(floor.operator.user), stored.id)
    return order.batch_id


def released_order(rt: Runtime, floor: Floor, number: str) -> int:
    """A released order of the floor's product with no batch yet."""
    order = ProductionOrder(f"PO-{number}", "QC-SAMPLE", Decimal("5"), "kg", f"B-{number}")
    stored = rt.services.orders.create(actor_of(floor.supervisor.user), order)
    rt.services.orders.release(actor_of(floor.supervisor.user), stored.id)
    return stored.id


def text_of(response: TestResponse) -> str:
    """The page's text with tags removed and whitespace collapsed, as a person reads it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
