"""The ERP postings page: counts and postings for the admin, QA and supervisors (not operators), the frozen bytes for
download, and the replay of a dead posting through the signing dialog (ERP-05)."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import PostingStatus
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.erp import PostingKind
from tests.factories import effective_policy, login
from tests.integration.erp.support import enqueue_all, posting
from tests.web.support import new_client, post, sign_dialog, sign_in


def _dead_and_pending(runtime: Runtime) -> tuple[int, int]:
    """A dead completion (as the dispatcher leaves it after a 422) and the usage decision waiting behind it."""
    dead, waiting = enqueue_all(runtime, [posting("B-WEB"), posting("B-WEB", PostingKind.USAGE_DECISION)])
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        uow.outbox.mark_dead(dead, 422, 'HTTP 422: {"error": "Unknown material"}')
        uow.commit()
    return dead, waiting


@pytest.mark.parametrize("role", [Role.ADMIN, Role.QA, Role.SUPERVISOR])
def test_the_dashboard_shows_counts_and_each_posting_with_its_state(app: Flask, runtime: Runtime, role: Role) -> None:
    dead, waiting = _dead_and_pending(runtime)
    browser, _ = sign_in(app, runtime, role)
    page = browser.get("/admin/erp/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="count-pending">pending: 1' in html and 'id="count-dead">dead: 1' in html
    assert posting("B-WEB").key in html and "Unknown material" in html
    assert f'<tr id="posting-{waiting}"' in html and f'waits for <a href="/admin/erp/{dead}">#{dead}</a>' in html
    assert ('id="replay-' in html) is (role is not Role.ADMIN)  # the admin watches; QA and supervisors replay
    detail = browser.get(f"/admin/erp/{dead}")
    assert detail.status_code == 200 and runtime.services.outbox.posting(dead).payload_sha256 in detail.get_data(
        as_text=True
    )


def test_an_operator_may_not_see_the_postings(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    assert browser.get("/admin/erp/").status_code == 403


def test_the_download_is_the_frozen_bytes_with_their_hash(app: Flask, runtime: Runtime) -> None:
    (message_id,) = enqueue_all(runtime, [posting("B-DOWNLOAD")])
    frozen = runtime.services.outbox.frozen(message_id)
    browser, _ = sign_in(app, runtime, Role.QA)
    xml = browser.get(f"/admin/erp/{message_id}/payload.xml")
    assert xml.status_code == 200 and xml.data == frozen.payload and xml.mimetype == "application/xml"
    assert xml.headers["X-Payload-SHA256"] == frozen.payload_sha256
    assert browser.get(f"/admin/erp/{message_id}/payload.json").get_data(as_text=True) == frozen.payload_json


@pytest.mark.req("ERP-05")
def test_a_dead_posting_is_replayed_through_the_signing_dialog(app: Flask, runtime: Runtime) -> None:
    qa = effective_policy(runtime)
    dead, _ = _dead_and_pending(runtime)
    browser = new_client(app)
    assert login(browser, qa.username) == 302
    asked = post(browser, f"/admin/erp/{dead}/replay", {"reason": "material created in the ERP"}, "/admin/erp/")
    assert asked.status_code == 302 and "/sign/" in asked.location
    assert runtime.services.outbox.posting(dead).status is PostingStatus.DEAD  # not before the signature
    signed = sign_dialog(browser, asked.location, qa.username)
    assert signed.status_code == 302 and signed.location.endswith(f"/admin/erp/{dead}")
    assert runtime.services.outbox.posting(dead).status is PostingStatus.PENDING


def test_a_replay_without_a_reason_or_by_the_admin_is_refused(app: Flask, runtime: Runtime) -> None:
    effective_policy(runtime)
    dead, _ = _dead_and_pending(runtime)
    qa_browser, _ = sign_in(app, runtime, Role.QA)
    assert post(qa_browser, f"/admin/erp/{dead}/replay", {"reason": ""}, "/admin/erp/").status_code == 422
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    assert post(admin_browser, f"/admin/erp/{dead}/replay", {"reason": "try"}, "/admin/erp/").status_code == 403
    assert runtime.services.outbox.posting(dead).status is PostingStatus.DEAD
