"""The demo plant seeds users, a QA-approved site policy and effective procedures, all verifiable."""

from __future__ import annotations

from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.demo.plant import DEMO_PRODUCTS, DEMO_USERS, seed


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
