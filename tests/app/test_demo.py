"""The demo plant seeds users, a QA-approved site policy and effective procedures, all verifiable."""

from __future__ import annotations

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
