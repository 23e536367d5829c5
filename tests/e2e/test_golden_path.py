"""The golden path in Debian's chromium: from the engineer's upload of a procedure to the signed PDF of the released
batch and its postings in the ERP, every act of a person done at the browser with their own credentials.

Only what no person does is done here in Python: the site set-up (policy, accounts, equipment and containers), the
ERP's order message (a POST with the ERP's token, as the ERP sends it) and the worker's jobs (rendering the release
candidate, dispatching the ERP postings), run between the browser steps instead of on the worker's timer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.config import Settings
from ebr.demo.fake_erp import FakeErp
from ebr.domain.accounts import Role
from ebr.domain.materials import Material
from ebr.worker.loop import dispatch_erp, render_candidates
from tests.app.equipment_support import endpoint_of
from tests.app.execution_support import seed_floor
from tests.app.inbound_support import erp_client, order_doc
from tests.e2e import golden_checks as checks
from tests.e2e import golden_floor as floor
from tests.e2e import golden_review as review
from tests.e2e.golden_steps import (
    Cast,
    click_to,
    engineer_uploads_and_submits,
    operator_starts,
    qa_approves_and_makes_effective,
    switch_to,
)
from tests.factories import effective_policy, make_user
from tests.fakes import FakeClock

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The demo's quick weight check with a temperature step before the weighing (tests/data/golden_check).
PROCEDURE = Path(__file__).parents[2] / "tests" / "data" / "golden_check" / "procedure.bpmn"
PRODUCT, ORDER, BATCH = "QC-SAMPLE", "PO-GOLD-1", "B-GOLD-1"


@pytest.fixture
def erp() -> Iterator[FakeErp]:
    """The fake ERP on a loopback port: it checks every posting against the B2MML schema and applies it once."""
    with FakeErp(seed=7) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, erp: FakeErp) -> Settings:
    """The test settings, with the outbox pointed at the fake ERP."""
    return settings.with_(erp_url=erp.url)


def set_up_site(rt: Runtime, plant: SimulatedPlant) -> Cast:
    """Policy in force, the four people, equipment wired to the plant, containers on the shelf, materials known."""
    effective_policy(rt)
    cast = Cast(
        engineer=make_user(rt, Role.ENGINEER, username="erin", full_name="Erin Engineer"),
        qa=make_user(rt, Role.QA, username="quinn", full_name="Quinn Quality"),
        operator=make_user(rt, Role.OPERATOR, username="olivia", full_name="Olivia Operator"),
        verifier=make_user(rt, Role.SUPERVISOR, username="sam", full_name="Sam Supervisor"),
    )
    seed_floor(rt, endpoint_of(plant, timeout_s=1.0, retries=1))
    for code, name in (("PARA-API", "Paracetamol API"), ("MCC-101", "Microcrystalline cellulose")):
        rt.services.masterdata.put_material(Actor.system(), Material(code, name, "kg"), "ERP master data")
    return cast


def erp_sends_the_order(rt: Runtime, base: str) -> None:
    """The ERP posts the production order with its own bearer token."""
    _, token = erp_client(rt)
    document = order_doc(order_number=ORDER, batch_id=BATCH, planned_quantity="10", unit="pcs")
    answer = httpx.post(
        f"{base}/api/erp/orders",
        json=document,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "golden-order-1"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["orders"][0]["outcome"] == "created"


def supervisor_releases_the_order(page: Page, base: str, cast: Cast) -> None:
    """The supervisor releases the ERP's order for execution on the orders page."""
    switch_to(page, base, cast.verifier)
    page.goto(f"{base}/orders/")
    row = page.locator("#orders tr", has_text=ORDER)
    expect(row.locator("td.source-erp")).to_have_text("ERP")
    click_to(page, f"#{row.get_attribute('id')} button:has-text('Release')")
    expect(page.locator("#orders tr", has_text=ORDER)).to_contain_text("released")


def step_pk(rt: Runtime, step_id: str) -> int:
    return next(s.record.id for s in rt.services.execution.batch(BATCH).steps if s.record.step_id == step_id)


def run_the_batch(page: Page, base: str, rt: Runtime, cast: Cast, plant: SimulatedPlant, clock: FakeClock) -> None:
    """The operator starts the batch, scans, captures; the verifier co-signs; the deviation step closes the run."""
    operator_starts(page, base, cast, BATCH)
    floor.operator_identifies(page, base, cast, BATCH, "LOT-1")
    floor.operator_reads_temperatures(page, base, cast, BATCH, plant)
    floor.operator_weighs_out_of_limit(page, base, cast, BATCH, plant)
    clock.advance(minutes=2)  # the supervisor walks over
    floor.verifier_cosigns(page, cast, step_pk(rt, "qc_weigh"))
    floor.operator_records_the_deviation(page, base, cast, BATCH)


@pytest.mark.req("SIG-01")
def test_the_golden_path_from_upload_to_release_shows_every_signature_with_name_time_and_meaning(
    page: Page,
    live_server: str,
    runtime: Runtime,
    plant: SimulatedPlant,
    erp: FakeErp,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    cast = set_up_site(runtime, plant)
    version = engineer_uploads_and_submits(page, live_server, cast, PROCEDURE)
    clock.advance(minutes=20)
    qa_approves_and_makes_effective(page, live_server, cast, version, PRODUCT)
    clock.advance(minutes=30)
    erp_sends_the_order(runtime, live_server)
    supervisor_releases_the_order(page, live_server, cast)
    clock.advance(minutes=10)
    run_the_batch(page, live_server, runtime, cast, plant, clock)
    assert dispatch_erp(runtime) == "1 sent, 0 to retry, 0 dead"  # the completion posting

    clock.advance(minutes=40)
    deviation = review.qa_settles_the_deviation(page, live_server, cast, BATCH)
    review.qa_submits_for_review(page, live_server, BATCH)
    assert render_candidates(runtime) == 1  # the worker renders the release candidate
    review.qa_reviews_by_exception(page, live_server, cast, BATCH, deviation)
    clock.advance(minutes=3)
    review.qa_releases(page, cast)
    pdf = review.download_released_pdf(page, tmp_path)
    checks.check_released_pdf(runtime, BATCH, pdf)
    assert dispatch_erp(runtime) == "1 sent, 0 to retry, 0 dead"  # the usage decision
    checks.check_erp_received(page, runtime, erp, BATCH)

    expected = [
        ("Performed by", cast.operator.full_name, cast.operator.username),
        ("Verified by (second person)", cast.verifier.full_name, cast.verifier.username),
    ]
    weigh = step_pk(runtime, "qc_weigh")
    checks.check_manifestations(page, f"{live_server}/batches/{BATCH}/steps/{weigh}", pdf, "Weigh the sample", expected)
