"""Equipment on the step page: the instance in use and its scan, Capture from the simulated balance by form and by the
page's script (DEV-01), a device fault as 503 with nothing stored (DEV-02), refused scans with their reason (SEQ-07),
dispensed containers and their printable Code 128 label."""

from __future__ import annotations

import html as entities
import re
from decimal import Decimal

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from ebr.web.batches.equipment import code128_modules, code128_svg
from tests.app.execution_support import running_batch
from tests.web.batch_support import text_of as tagless
from tests.web.equipment_support import (
    BALANCE,
    dispensed,
    operator_at,
    post_form,
    post_json,
    values_of,
    weighing_floor,
)


def text_of(response: TestResponse) -> str:
    """The page's text as a person reads it, character references included."""
    return entities.unescape(tagless(response))


CODE128_STOP = "1100011101011"  # the stop pattern and its final bar, as ISO/IEC 15417 draws it


def test_the_weighing_step_shows_the_balance_in_use_with_its_page_and_a_capture_button(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    browser, page = operator_at(app, floor, "qc_weigh")
    html = browser.get(page).get_data(as_text=True)
    card = text_of(browser.get(page))
    assert f"In use: {BALANCE} (balance)" in card and "calibration due 2099-12-31" in card
    assert f'href="/equipment/{BALANCE}"' in html
    assert re.search(r'<button type="submit" class="capture big" id="capture-qc_mass"', html)
    assert f"Capture from balance {BALANCE}" in card
    assert 'id="equipment-scan"' in html  # the performer may scan another balance
    assert 'id="override-qc_mass"' in html  # typing stays possible, as an override with its reason


@pytest.mark.req("DEV-01")
def test_a_capture_by_the_form_stores_the_balance_reading_shown_with_its_device_source(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    plant.place(gross=Decimal("1.250"), tare=Decimal("0.245"))
    browser, page = operator_at(app, floor, "qc_weigh")
    answer = post_form(browser, page, "capture", {"field": "qc_mass", "equipment": BALANCE})
    assert answer.status_code == 302 and answer.location.endswith("#field-qc_mass")
    shown = text_of(browser.get(answer.location))
    assert f"Captured Net mass = 1.005 kg from {BALANCE} at" in shown
    [value] = values_of(floor, "qc_weigh", "qc_mass")
    assert (value.value, value.source, value.equipment_code, value.tag) == ("1.005", "device", BALANCE, "net_mass")
    history = text_of(browser.get(page))
    assert f"device {BALANCE} · net_mass · read" in history
    assert f"raw {value.raw}" in history and len(value.raw.split()) == 2  # a float32 is two registers


@pytest.mark.req("DEV-01")
def test_a_capture_through_the_json_api_answers_the_stored_reading_with_its_source(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    plant.place(gross=Decimal("1.250"), tare=Decimal("0.245"))
    browser, page = operator_at(app, floor, "qc_weigh")
    answer = post_json(browser, page, "capture", {"field": "qc_mass"})
    assert answer.status_code == 200
    body = answer.get_json()
    [value] = values_of(floor, "qc_weigh", "qc_mass")
    assert body == {
        "saved": True,
        "field": "qc_mass",
        "value": "1.005",
        "unit": "kg",
        "equipment": BALANCE,
        "read_at": runtime.services.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "raw": value.raw,
        "deviation": False,
        "message": body["message"],
    }
    assert body["message"].startswith(f"Captured Net mass = 1.005 kg from {BALANCE}")


@pytest.mark.req("DEV-02")
@pytest.mark.error_handling
def test_a_capture_from_a_stopped_balance_answers_503_with_its_message_and_stores_nothing(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    plant.stop()
    browser, page = operator_at(app, floor, "qc_weigh")
    answer = post_json(browser, page, "capture", {"field": "qc_mass"})
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["error"] == "DeviceFault" and body["kind"] == "unreachable" and body["message"]
    by_form = post_form(browser, page, "capture", {"field": "qc_mass"})
    assert by_form.status_code == 302
    assert f"Not captured: {body['message']}" in text_of(browser.get(by_form.location))
    assert values_of(floor, "qc_weigh", "qc_mass") == []


def test_a_capture_of_a_field_of_another_step_or_a_forged_field_stores_nothing(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    browser, page = operator_at(app, floor, "qc_weigh")
    assert post_json(browser, page, "capture", {"field": "no_such_field"}).status_code == 422
    assert post_json(browser, page, "capture", {"field": 7}).status_code == 422
    forged = f"/batches/{floor.batch_id}/steps/999999"
    assert post_json(browser, forged, "capture", {"field": "qc_mass"}).status_code == 404
    assert values_of(floor, "qc_weigh", "qc_mass") == []


@pytest.mark.req("SEQ-07")
@pytest.mark.parametrize(
    ("barcode", "reason"),
    [
        (
            "EQ-TEMPERATURE_PROBE",
            "Wrong equipment: EQ-TEMPERATURE_PROBE is a temperature_probe, the step needs a balance.",
        ),
        ("EQ-NOPE", "Unknown equipment 'EQ-NOPE': no such instance is registered."),
    ],
    ids=["wrong-class", "unknown-code"],
)
def test_a_refused_equipment_scan_shows_its_reason_and_changes_neither_the_equipment_nor_the_values(
    app: Flask, runtime: Runtime, plant: SimulatedPlant, barcode: str, reason: str
) -> None:
    floor = weighing_floor(runtime, plant)
    browser, page = operator_at(app, floor, "qc_weigh")
    answer = post_form(browser, page, "equipment", {"barcode": barcode})
    assert answer.status_code == 302 and answer.location.endswith("#equipment")
    shown = text_of(browser.get(answer.location))
    assert f"Refused: {reason}" in shown
    assert f"✗ refused: {barcode} · {reason}" in shown  # the recorded check, on the step
    assert f"In use: {BALANCE} (balance)" in shown  # still the balance scanned before
    view = runtime.services.execution.step(floor.batch_id, int(page.rsplit("/", 1)[1]))
    assert view.equipment == [] and values_of(floor, "qc_weigh", "qc_mass") == []
    batch_page = text_of(browser.get(f"/batches/{floor.batch_id}"))
    assert "Identity checks refused" in batch_page and reason in batch_page


@pytest.mark.req("SEQ-07")
def test_a_passed_equipment_scan_puts_that_instance_in_use_and_lists_it_on_the_batch(
    app: Flask, runtime: Runtime, plant: SimulatedPlant
) -> None:
    floor = weighing_floor(runtime, plant)
    browser, page = operator_at(app, floor, "qc_weigh")
    answer = post_form(browser, page, "equipment", {"barcode": "BAL-1"})
    shown = text_of(browser.get(answer.location))
    assert "BAL-1 (balance) is in use at this step" in shown
    assert "In use: BAL-1 (balance)" in shown and "✓ passed: BAL-1" in shown
    assert "Capture from balance BAL-1" in shown
    batch_page = browser.get(f"/batches/{floor.batch_id}")
    assert "Equipment used" in text_of(batch_page)
    assert 'href="/equipment/BAL-1"' in batch_page.get_data(as_text=True)


@pytest.mark.req("SEQ-07")
def test_a_checked_barcode_field_says_what_it_expects_and_a_refused_scan_is_shown_and_not_saved(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    browser, page = operator_at(app, floor, "qc_identify")
    before = text_of(browser.get(page))
    assert "Expects a container of MCC-101" in before and "Expects a balance" in before
    refused = post_json(browser, page, "values", {"field": "qc_lot", "value": "C-NOPE"})
    assert refused.status_code == 409 and refused.get_json()["error"] == "ScanRefused"
    reason = refused.get_json()["message"]
    assert f"✗ refused: C-NOPE · {reason}" in text_of(browser.get(page))
    assert values_of(floor, "qc_identify", "qc_lot") == []
    assert post_json(browser, page, "values", {"field": "qc_lot", "value": "LOT-1"}).status_code == 200
    assert "✓ passed: LOT-1" in text_of(browser.get(page))


def test_a_dispensed_container_is_listed_with_its_weights_and_its_label_prints_the_barcode(
    app: Flask, runtime: Runtime
) -> None:
    floor = running_batch(runtime)
    done = dispensed(floor, "qc_identify", "B-9001-D1")
    browser, page = operator_at(app, floor, "qc_identify")
    for path in (page, f"/batches/{floor.batch_id}"):
        listed = text_of(browser.get(path))
        assert "MCC-101 L-MCC-101 C-MCC-101 0.245 kg 1.250 kg 1.005 kg 1.000 ± 0.010 kg within" in listed, path
    label = browser.get(f"/batches/{floor.batch_id}/labels/{done.label}")
    assert label.status_code == 200
    html, shown = label.get_data(as_text=True), text_of(label)
    assert "MCC-101 material MCC-101" in shown  # the code and the master data's name
    assert "Lot L-MCC-101" in shown and "Net 1.005 kg" in shown and "Batch B-9001" in shown
    assert str(code128_svg(done.label)) in html
    assert 'id="print"' in html


def test_a_label_that_was_not_dispensed_for_the_batch_is_not_found(app: Flask, runtime: Runtime) -> None:
    floor = running_batch(runtime)
    dispensed(floor, "qc_identify", "B-9001-D1")
    browser, _ = operator_at(app, floor, "qc_identify")
    assert browser.get(f"/batches/{floor.batch_id}/labels/B-9001-D2").status_code == 404
    assert browser.get("/batches/B-NONE/labels/B-9001-D1").status_code == 404


@pytest.mark.parametrize("code", ["B-9001-D1", "12345678", "LOT/2026.01_a"])
def test_the_code128_svg_draws_exactly_the_symbol_with_quiet_zones(code: str) -> None:
    svg = str(code128_svg(code))
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    drawn = ["0"] * width
    for x, w in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)"', svg):
        drawn[int(x) : int(x) + int(w)] = ["1"] * int(w)
    modules = code128_modules(code)
    assert "".join(drawn) == "0" * 10 + modules + "0" * 10
    assert modules.startswith("11010") and modules.endswith(CODE128_STOP)  # a start code, then the stop pattern
    assert f"<title>{code}</title>" in svg


def test_a_code_code128_cannot_carry_has_no_barcode() -> None:
    assert code128_svg("LOT-é") is None
