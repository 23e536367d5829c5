"""The shop floor on the golden path: scans at identification, the temperature probe read, the balance read into the
critical weighing (out of its limits, which opens a deviation), the supervisor's co-signature on the operator's
screen, and the deviation step."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from ebr.adapters.modbus.simulator import SimulatedPlant
from tests.e2e.golden_steps import Cast, click_to, enter, open_step, shoot, sign, sign_performed

BALANCE = "EQ-BALANCE"
OUT_OF_LIMIT = "1.050"  # the quick check weighs 1.000 kg ± 0.010 kg


def operator_identifies(page: Page, base: str, cast: Cast, batch_id: str, lot: str) -> None:
    """Scan the container's lot label and the balance's equipment label, then sign 'performed'."""
    open_step(page, base, batch_id, "Identify material and balance")
    expect(page.locator("#value-qc_lot")).to_be_focused()
    page.keyboard.type(f"{lot}\n")  # a keyboard-wedge scanner types the code and Enter
    expect(page.locator("#status-qc_lot")).to_contain_text(f"Saved Material lot = {lot}")
    expect(page.locator("#value-qc_balance_id")).to_be_focused()
    page.keyboard.type(f"{BALANCE}\n")
    expect(page.locator("#status-qc_balance_id")).to_contain_text(f"Saved Bench balance = {BALANCE}")
    sign_performed(page, cast.operator)


PROBE = "EQ-TEMPERATURE_PROBE"
PROBE_UNIT = 2  # the simulated plant's temperature transmitter
READ_AT = "2026-11-25T09:00Z"


def operator_reads_temperatures(page: Page, base: str, cast: Cast, batch_id: str, plant: SimulatedPlant) -> None:
    """Scan the probe's label, type the time, capture both temperatures from the probe, sign 'performed'."""
    plant.set_value(PROBE_UNIT, "inlet_air_temp", Decimal("60.2"))
    plant.set_value(PROBE_UNIT, "product_temp", Decimal("40.1"))
    open_step(page, base, batch_id, "Read the temperatures")
    page.locator("#equipment-barcode").fill(PROBE)
    click_to(page, "#check-in")
    expect(page.locator("#in-use-code")).to_have_text(PROBE)
    enter(page, "drying_start", READ_AT)
    for field, label, shown in (
        ("inlet_air_temp", "Inlet air temperature", "60.2"),
        ("product_temp", "Product temperature", "40.1"),
    ):
        page.locator(f"#capture-{field}").click()
        expect(page.locator(f"#status-{field}")).to_contain_text(f"Captured {label} = {shown} °C from {PROBE}")
        expect(page.locator(f"#current-{field}")).to_have_text(f"{shown} °C")
    page.reload()  # the values as the server has them, each with its device source
    for field in ("inlet_air_temp", "product_temp"):
        page.locator(f"#field-{field} details.history summary").click()
        expect(page.locator(f"#history-{field}")).to_contain_text(f"{PROBE} · {field}")
    page.locator("#field-inlet_air_temp").evaluate("e => e.scrollIntoView({block: 'start'})")
    shoot(page, "operator-step.png")
    sign_performed(page, cast.operator)


def operator_weighs_out_of_limit(page: Page, base: str, cast: Cast, batch_id: str, plant: SimulatedPlant) -> None:
    """The balance shows a mass outside the limits; the operator captures it and the step names the deviation."""
    plant.place(gross=Decimal(OUT_OF_LIMIT), tare=Decimal(0))
    open_step(page, base, batch_id, "Weigh the sample")
    expect(page.locator("#signature-rule")).to_contain_text("Critical step")
    button = page.locator("#capture-qc_mass")
    expect(button).to_contain_text(f"Capture from balance {BALANCE}")
    button.click()
    expect(page.locator("#status-qc_mass")).to_contain_text(f"Captured Net mass = {OUT_OF_LIMIT} kg from {BALANCE}")
    expect(page.locator("#current-qc_mass")).to_have_text(f"{OUT_OF_LIMIT} kg")
    page.reload()
    expect(page.locator("#history-qc_mass")).to_contain_text(f"{BALANCE} · net_mass")
    expect(page.locator("#history-qc_mass")).to_contain_text("outside 1.000 kg ± 0.010 kg")
    deviations = page.locator("#step-deviations")
    expect(deviations).to_contain_text("out of limit")
    expect(deviations).to_contain_text("open")
    sign_performed(page, cast.operator)


def verifier_cosigns(page: Page, cast: Cast, step_pk: int) -> None:
    """At the operator's terminal, without logging the operator out, the supervisor signs with their own id."""
    click_to(page, f"#verify-{step_pk}")
    expect(page.locator("#sign-meaning")).to_have_text("Verified by (second person)")
    expect(page.locator("#signed-content")).to_contain_text(OUT_OF_LIMIT)
    page.get_by_label("User id").fill(cast.verifier.username)
    shoot(page, "verifier-cosign.png")
    sign(page, cast.verifier)
    expect(page.get_by_role("status").first).to_contain_text(
        f"Signed: Verified by (second person) {cast.verifier.full_name} ({cast.verifier.username})"
    )
    expect(page.locator(f"#step-{step_pk}")).to_contain_text("completed")


DEVIATION_FORM = {
    "deviation_title": "Sample mass out of tolerance",
    "deviation_description": f"Net mass {OUT_OF_LIMIT} kg captured from {BALANCE}, limit 1.000 kg ± 0.010 kg",
    "deviation_impact": "minor",
    "impact_assessment": "this sample container only",
    "immediate_action": "container set aside, supervisor informed",
}


def operator_records_the_deviation(page: Page, base: str, cast: Cast, batch_id: str) -> None:
    """The procedure's deviation path: the operator records what happened, the supervisor verifies it."""
    open_step(page, base, batch_id, "Record weight deviation")
    expect(page.locator("#instructions")).to_contain_text(f"The mass {OUT_OF_LIMIT} kg is out of tolerance")
    for field, value in DEVIATION_FORM.items():
        enter(page, field, value)
    sign_performed(page, cast.operator)
    row = page.locator("#steps tr.step-row", has_text="Record weight deviation")
    click_to(page, f"#{row.get_attribute('id')} button.verify")
    sign(page, cast.verifier)
    expect(page.locator("#batch-status")).to_have_text("completed")
