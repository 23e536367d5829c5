"""Genealogy pages and JSON: a batch's consumed and produced lots, a lot's consuming batches, for anyone who may
view batches; an unknown batch is a 404, answered as JSON under /api/."""

from __future__ import annotations

from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.execution_support import advance_to, running_batch
from tests.fakes import FakeClock
from tests.web.support import sign_in


def _dispensed(runtime: Runtime, clock: FakeClock) -> str:
    floor = running_batch(runtime, "granulation", "PARA-500")
    advance_to(floor, clock.now(), "dispense_mcc")
    return floor.batch_id


def test_the_batch_page_and_its_json_show_the_lot_consumed_and_the_lot_produced(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    batch_id = _dispensed(runtime, clock)
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    page = browser.get(f"/genealogy/batches/{batch_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "L-PARA-API" in html and "C-PARA-API" in html and "/genealogy/lots/PARA-API/L-PARA-API" in html
    body = browser.get(f"/api/genealogy/batches/{batch_id}").get_json()
    [used] = body["consumed"]
    assert (used["material_code"], used["lot_number"], used["net"], used["unit"]) == (
        "PARA-API",
        "L-PARA-API",
        "100.000",
        "kg",
    )
    assert used["dispensed_at"].endswith("Z")
    assert body["produced"] == {
        "batch_id": batch_id,
        "material_code": "PARA-500",
        "lot_number": batch_id,
        "planned_quantity": "10",
        "unit": "kg",
        "status": "in_progress",
    }


def test_the_lot_page_and_its_json_list_every_batch_that_consumed_the_lot(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    batch_id = _dispensed(runtime, clock)
    browser, _ = sign_in(app, runtime, Role.QA)
    page = browser.get("/genealogy/lots/PARA-API/L-PARA-API")
    assert page.status_code == 200 and f"/genealogy/batches/{batch_id}" in page.get_data(as_text=True)
    body = browser.get("/api/genealogy/lots/PARA-API/L-PARA-API").get_json()
    assert [u["batch_id"] for u in body["consumed_by"]] == [batch_id] and body["produced_by"] is None
    made = browser.get(f"/api/genealogy/lots/PARA-500/{batch_id}").get_json()
    assert made["consumed_by"] == [] and made["produced_by"]["batch_id"] == batch_id


def test_an_unknown_batch_is_a_404_page_and_a_404_json_answer(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    assert browser.get("/genealogy/batches/B-NONE").status_code == 404
    answer = browser.get("/api/genealogy/batches/B-NONE")
    assert answer.status_code == 404 and answer.get_json()["error"] == "NotFound"


def test_genealogy_needs_a_session(app: Flask, runtime: Runtime) -> None:
    anonymous = app.test_client()
    assert anonymous.get("/genealogy/lots/PARA-API/L-PARA-API").status_code == 302
    answer = anonymous.get("/api/genealogy/lots/PARA-API/L-PARA-API")  # a program gets the documented 401
    assert answer.status_code == 401 and answer.get_json()["error"] == "Unauthorized"
