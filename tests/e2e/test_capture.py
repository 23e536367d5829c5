"""Capture at a shop-floor browser: the operator presses Capture and the balance's reading appears with its source;
with the balance silent the page says why within the device's time bound, and the retry after it is back works."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.bootstrap import Runtime
from tests.app.equipment_support import endpoint_of
from tests.app.execution_support import advance_to, running_batch
from tests.e2e.test_login_timeout_lockout import log_in

pytestmark = pytest.mark.e2e


@pytest.mark.req("DEV-02")
def test_an_operator_captures_the_weight_sees_a_fault_within_its_bound_and_retries(
    page: Page, live_server: str, runtime: Runtime
) -> None:
    with SimulatedPlant(moving=False, settle_s=0.0) as plant:
        floor = running_batch(runtime, endpoint=endpoint_of(plant, timeout_s=0.5, retries=1))
        advance_to(floor, runtime.services.clock.now(), "qc_weigh")
        pk = floor.step("qc_weigh").record.id
        log_in(page, live_server, floor.operator.user.username)
        page.goto(f"{live_server}/batches/{floor.batch_id}/steps/{pk}")
        button = page.locator("#capture-qc_mass")
        expect(button).to_contain_text("Capture from balance EQ-BALANCE")

        plant.mute(1)  # the balance accepts the connection and never answers
        started = time.monotonic()
        button.click()
        expect(page.locator("#status-qc_mass")).to_contain_text("Not captured (timeout)")
        assert time.monotonic() - started < 0.5 * 2 + 2  # timeout x attempts, plus the page's round trip

        plant.clear_faults()
        plant.place(gross=Decimal("1.004"), tare=Decimal("0"))
        button.click()
        expect(page.locator("#status-qc_mass")).to_contain_text("Captured Net mass = 1.004 kg from EQ-BALANCE")
        expect(page.locator("#current-qc_mass")).to_contain_text("1.004 kg")
    [value] = [fv.current for fv in runtime.services.execution.step(floor.batch_id, pk).fields]
    assert value is not None and (value.source, value.value) == ("device", "1.004")
