"""Two people sign the same step at the same moment: exactly one wins, nothing is half-written (SEQ-03)."""

from __future__ import annotations

import threading

import pytest

from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.audit import Action
from ebr.domain.errors import Conflict, DomainError
from ebr.domain.signatures import SignatureRefused
from ebr.web.errors import status_of
from tests.app.execution_support import person, running_batch
from tests.app.masterdata_support import trail
from tests.factories import PASSWORD, actor_of


@pytest.mark.req("SEQ-03")
def test_two_concurrent_completions_of_one_step_leave_exactly_one(runtime: Runtime) -> None:
    floor = running_batch(runtime)
    second = person(runtime, Role.OPERATOR)
    floor.enter("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    record = floor.step("qc_identify").record
    signing = runtime.services.signing
    requests = [
        (who, signing.request(actor_of(who.user), who.token, "batch_step", str(record.id), "performed"))
        for who in (floor.operator, second)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def sign(index: int) -> None:
        who, request = requests[index]
        barrier.wait()
        try:
            outcomes.append(
                signing.sign(
                    actor_of(who.user),
                    who.token,
                    request.challenge.id,
                    request.challenge.content_hash,
                    Credentials(PASSWORD, who.user.username, True),
                )
            )
        except (Conflict, SignatureRefused, DomainError) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert isinstance(refused[0], DomainError) and status_of(refused[0]) == 409, refused  # what the web answers
    assert len(signing.signatures_on("batch_step", str(record.id))) == 1
    moves = [
        e for e in trail(runtime, "batch") if e.draft.action is Action.STATE_CHANGE and e.draft.field == "engine_state"
    ]
    assert len(moves) == 1
    assert [s.record.step_id for s in floor.open_steps()] == ["qc_weigh"]
