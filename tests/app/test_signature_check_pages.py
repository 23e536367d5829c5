"""`ebr verify signatures` checks signatures page by page, each page in a transaction of its own (SIG-03)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ebr.app.context import Actor, AuditContext
from ebr.app.signature_check import verify_signatures
from ebr.bootstrap import Runtime
from tests.app.execution_support import running_batch
from tests.integration.db.tampering import as_owner


def _pages(runtime: Runtime, size: int) -> list[tuple[int, str]]:
    signing = runtime.services.signing
    context = AuditContext(Actor.system(), runtime.services.clock.now())
    parts = signing._uow, context, signing._keys, signing._signables  # the service's own parts
    return [(f.signature_id, f.problem) for f in verify_signatures(*parts, page_size=size)]


@pytest.mark.req("SIG-03")
def test_a_changed_signed_value_is_found_alone_whatever_the_page_size(runtime: Runtime, owner_url: str) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.act("hold", floor.supervisor, "held", "room pressure alarm")  # signed after the step: it is mid-list
    floor.act("resume", floor.supervisor, "resumed", "pressure back in range")
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        count = len(uow.signatures.all())
    assert count >= 3, "several pages at one signature per page"
    with as_owner(owner_url, ("step_value_no_update",)) as conn:
        conn.execute(text("UPDATE step_value SET value = 'LOT-9' WHERE field_id = 'qc_lot'"))

    whole = [(f.signature_id, f.problem) for f in runtime.services.signing.verify()]

    assert len(whole) == 1 and whole[0][1] == "the signed content was changed after signing"
    for size in (1, 2, count, count + 1):
        assert _pages(runtime, size) == whole, size
