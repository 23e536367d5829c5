"""A dead posting goes back only by a signed replay (meaning 'replayed' on erp_replay, QA or supervisor): the request
names the reason, the signature is audited with the key and the payload hash, and the ERP then gets the same key and
the same bytes once more and applies them once (ERP-05)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ebr.app.context import Actor, AuditContext
from ebr.app.dispatch import Dispatcher
from ebr.app.ports import AuditFilter, PostingStatus
from ebr.bootstrap import Runtime
from ebr.demo.fake_erp import FakeErp
from ebr.domain.accounts import Role, User
from ebr.domain.audit import AuditEntry
from ebr.domain.errors import Conflict, InvalidInput, PermissionDenied
from ebr.domain.signatures import SignatureRefused
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock
from tests.integration.erp.support import dispatcher, enqueue_all, posting

ITEM = posting("B-REPLAY", material="NEW-EXCIPIENT")


@pytest.fixture
def sender(runtime: Runtime, erp: FakeErp) -> Iterator[Dispatcher]:
    d = dispatcher(runtime, erp.url)
    yield d
    d.close()


@pytest.fixture
def qa(runtime: Runtime) -> User:
    return effective_policy(runtime)  # the site policy in force, approved by this QA user


@pytest.fixture
def dead(runtime: Runtime, erp: FakeErp, sender: Dispatcher, qa: User) -> int:
    """A posting the ERP refused (422: a material it does not know yet)."""
    erp.known_materials = {"PARA-500", "PARA-API"}
    (message_id,) = enqueue_all(runtime, [ITEM])
    assert sender.run_once().dead == 1
    return message_id


def trail(rt: Runtime, object_type: str, object_id: str) -> list[AuditEntry]:
    with rt.services.uow(AuditContext(Actor.system(), rt.services.clock.now())) as uow:
        return uow.audit.query(AuditFilter(object_type=object_type, object_id=object_id))


def replay(rt: Runtime, requester: User, signer: User, message_id: int, reason: str) -> str:
    object_id = rt.services.outbox.request_replay(actor_of(requester), message_id, reason)
    sign(rt, signer, session_token(rt, signer), "erp_replay", object_id, "replayed")
    return object_id


@pytest.mark.req("ERP-05")
def test_a_signed_replay_is_audited_and_delivers_the_same_key_and_bytes_once(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, qa: User, dead: int
) -> None:
    supervisor = make_user(runtime, Role.SUPERVISOR)
    frozen = runtime.services.outbox.frozen(dead)
    erp.known_materials.add("NEW-EXCIPIENT")  # the cause is fixed in the ERP
    object_id = runtime.services.outbox.request_replay(actor_of(supervisor), dead, "material created in the ERP")
    assert runtime.services.outbox.posting(dead).status is PostingStatus.DEAD  # asking alone changes nothing
    sign(runtime, qa, session_token(runtime, qa), "erp_replay", object_id, "replayed")
    again = runtime.services.outbox.posting(dead)
    assert (again.status, again.attempts, again.key) == (PostingStatus.PENDING, 0, ITEM.key)
    entries = [e.draft for e in trail(runtime, "erp_posting", str(dead))]
    requested = next(d for d in entries if d.field == "replay_requested")
    assert (requested.username, requested.reason) == (supervisor.username, "material created in the ERP")
    (back,) = [d for d in entries if d.field == "status" and d.new_value == "pending"]
    assert back.username == qa.username and ITEM.key in back.reason and frozen.payload_sha256 in back.reason
    (signed,) = [e.draft for e in trail(runtime, "erp_replay", object_id) if e.draft.action == "sign"]
    assert signed.field == "replayed" and "material created in the ERP" in signed.reason
    assert sender.run_once().sent == 1
    assert erp.applied[ITEM.key] == 1 and erp.deliveries[ITEM.key] == 2
    assert set(erp.hashes[ITEM.key]) == {frozen.payload_sha256}
    log = runtime.services.outbox.attempts(dead)
    assert [(a.attempt, a.outcome, a.http_status) for a in log] == [(1, "dead", 422), (2, "sent", 200)]
    assert runtime.services.signing.verify() == []  # the replay signature still verifies after the status moved


def test_only_qa_or_a_supervisor_may_ask_for_a_replay_and_only_they_may_sign_it(
    runtime: Runtime, qa: User, dead: int
) -> None:
    for role in (Role.ADMIN, Role.OPERATOR):
        with pytest.raises(PermissionDenied):
            runtime.services.outbox.request_replay(actor_of(make_user(runtime, role)), dead, "try again")
    object_id = runtime.services.outbox.request_replay(actor_of(qa), dead, "material created in the ERP")
    operator = make_user(runtime, Role.OPERATOR)
    with pytest.raises(SignatureRefused):
        sign(runtime, operator, session_token(runtime, operator), "erp_replay", object_id, "replayed")
    assert runtime.services.outbox.posting(dead).status is PostingStatus.DEAD


def test_a_replay_needs_a_reason_and_a_dead_posting(runtime: Runtime, qa: User, dead: int) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.outbox.request_replay(actor_of(qa), dead, " ")
    (pending,) = enqueue_all(runtime, [posting("B-PENDING")])
    with pytest.raises(Conflict, match="only a dead posting"):
        runtime.services.outbox.request_replay(actor_of(qa), pending, "just because")


def test_a_replay_request_older_than_the_last_failure_cannot_be_signed_into_effect(
    runtime: Runtime, erp: FakeErp, sender: Dispatcher, qa: User, dead: int, clock: FakeClock
) -> None:
    supervisor = make_user(runtime, Role.SUPERVISOR)
    first = replay(runtime, supervisor, qa, dead, "retry after the ERP fix")  # not fixed: dies again
    assert sender.run_once().dead == 1
    clock.advance(minutes=1)
    with pytest.raises(Conflict, match="predates"):
        sign(runtime, qa, session_token(runtime, qa), "erp_replay", first, "replayed")
    assert runtime.services.outbox.posting(dead).status is PostingStatus.DEAD
