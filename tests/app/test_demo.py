"""The demo plant seeds users, a QA-approved site policy and effective procedures, all verifiable."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from ebr.app.context import RequestInfo
from ebr.app.execution_corrections import Entry
from ebr.app.ports import AuditFilter
from ebr.app.scans import ScanRefused
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.demo.equipment import DEMO_EQUIPMENT
from ebr.demo.plant import DEMO_PASSWORD, DEMO_PRODUCTS, DEMO_USERS, seed, simulated_plant
from tests.factories import actor_of
from tests.fakes import FakeClock


def test_the_demo_seed_approves_the_policy_and_releases_its_procedures_with_real_signatures(runtime: Runtime) -> None:
    created = seed(runtime)
    assert created == [u.username for u in DEMO_USERS]
    assert runtime.services.policy.effective() is not None
    mapping = {code: version.procedure_id for code, version in runtime.services.procedures.product_mapping()}
    assert mapping == {product: procedure for procedure, product in DEMO_PRODUCTS.items()}
    for _, version in runtime.services.procedures.product_mapping():
        signatures = runtime.services.signing.signatures_on("procedure_version", str(version.id))
        assert [(s.meaning, s.signer_username) for s in signatures] == [("authored", "erin"), ("approved", "quinn")]
    assert runtime.services.signing.verify() == []
    assert runtime.services.trail.verify() == []
    assert seed(runtime) == []  # seeding again changes nothing


def test_the_demo_seed_puts_master_data_and_two_planned_orders_once(runtime: Runtime) -> None:
    seed(runtime)
    md = runtime.services.masterdata
    assert {m.code for m in md.materials()} == {"PARA-API", "MCC-101", "PVP-K30", "CCS-01", "MGST-01"}
    statuses = {lot.qc_status for lot in md.lots()}
    assert {"released", "quarantine"} <= statuses
    assert md.identify("C-PA-0001", "PARA-API").ok
    assert "quarantine" in md.identify("C-PA-0101", "PARA-API").reason
    assert "expired" in md.identify("C-PA-0201", "PARA-API").reason
    orders = sorted((o.order.product_code, o.order.status) for o in runtime.services.orders.list())
    assert orders == [("PARA-500", "planned"), ("QC-SAMPLE", "planned")]
    count = len(runtime.services.trail.query(AuditFilter(), limit=None))
    seed(runtime)
    assert len(runtime.services.trail.query(AuditFilter(), limit=None)) == count
    assert runtime.services.trail.verify() == []


def test_the_demo_equipment_is_cleaned_and_calibrated_through_signed_logbook_entries(runtime: Runtime) -> None:
    seed(runtime)
    equipment = {stored.instance.code: stored.instance for stored in runtime.services.equipment.list()}
    assert {code for code, *_ in DEMO_EQUIPMENT} == set(equipment)
    balance = equipment["BAL-01"]
    assert balance.endpoint is not None and balance.endpoint.port == runtime.settings.demo_modbus_port
    assert balance.clean and balance.calibration_due is not None
    assert not equipment["IBC-02"].clean and equipment["BAL-02"].calibration_due is None
    signed = [line.signature for line in runtime.services.equipment.logbook("BAL-01")]
    assert [(s.meaning, s.signer_username) for s in signed if s] == [("calibrated", "sam"), ("cleaned", "sam")]
    assert runtime.services.signing.verify() == []
    seed(runtime)
    assert len(runtime.services.equipment.logbook("BAL-01")) == 2  # seeding again changes nothing


def test_the_demo_plant_weighs_a_sample_on_its_simulated_balance(settings: Settings, clock: FakeClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rt = build(replace(settings, demo_modbus_port=port), clock=clock)
    seed(rt)
    with simulated_plant(rt) as plant:
        olivia, sam = (next(u for u in rt.services.accounts.list_users() if u.username == n) for n in ("olivia", "sam"))
        order = next(o for o in rt.services.orders.list() if o.order.product_code == "QC-SAMPLE")
        rt.services.orders.release(actor_of(sam), order.id)
        batch = rt.services.batches.start(actor_of(olivia), order.id)
        batch_id = batch.batch.id
        step = rt.services.execution.batch(batch_id).open_steps[0].record
        kiosk = RequestInfo("10.0.0.7", "kiosk-7", "demo")
        with pytest.raises(ScanRefused, match="never been calibrated"):
            rt.services.execution.enter(actor_of(olivia), batch_id, step.id, Entry("qc_balance_id", "BAL-02"), kiosk)
        for field, barcode in (("qc_lot", "C-MC-0001"), ("qc_balance_id", "BAL-01")):
            rt.services.execution.enter(actor_of(olivia), batch_id, step.id, Entry(field, barcode), kiosk)
        token = rt.services.auth.login("olivia", DEMO_PASSWORD, kiosk).token
        request = rt.services.signing.request(actor_of(olivia), token, "batch_step", str(step.id), "performed")
        credentials = Credentials(DEMO_PASSWORD, "olivia", acknowledged=True)
        rt.services.signing.sign(
            actor_of(olivia), token, request.challenge.id, request.challenge.content_hash, credentials
        )
        weigh = rt.services.execution.batch(batch_id).open_steps[0].record
        plant.place(gross="1.003", tare="0")
        time.sleep(1.6)  # the demo balance settles like a real one
        value = rt.services.capture.capture(actor_of(olivia), batch_id, weigh.id, "qc_mass", kiosk)
    assert (value.value, value.source, value.equipment_code) == ("1.003", "device", "BAL-01")
    rt.engine.dispose()
