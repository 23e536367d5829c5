"""System errors become incidents (OPS-01): an unhandled error answers a 500 page naming the request's correlation id
and opens one incident per fault, place and hour, counted; a stored PDF whose bytes changed is refused with a clear
page and an incident. QA and the administrator see both on the incidents page with their times and correlation ids."""

from __future__ import annotations

import html

import pytest
from flask import Flask
from sqlalchemy import text

from ebr.app.ports import Incident
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.document_support import store
from tests.app.execution_support import running_batch
from tests.fakes import FakeClock
from tests.integration.db.tampering import as_owner
from tests.web.batch_support import browser_of
from tests.web.support import sign_in


def _only(runtime: Runtime, kind: str) -> Incident:
    [incident] = [i for i in runtime.services.incidents.open_incidents() if i.kind == kind]
    return incident


def _break_the_material_table(owner_url: str) -> None:
    # A real database fault under a page: the table it reads is gone.
    with as_owner(owner_url, ()) as conn:
        conn.execute(text("ALTER TABLE material RENAME TO material_gone"))


@pytest.mark.req("OPS-01")
def test_an_unhandled_error_is_a_500_page_with_its_correlation_id_and_one_counted_incident(
    app: Flask, runtime: Runtime, owner_url: str
) -> None:
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    assert browser.get("/materials/").status_code == 200
    _break_the_material_table(owner_url)

    first = browser.get("/materials/")
    second = browser.get("/materials/")

    assert first.status_code == 500 and second.status_code == 500
    correlation = first.headers["X-Request-ID"]
    assert correlation and correlation != second.headers["X-Request-ID"]
    page = first.get_data(as_text=True)
    assert f'<code id="correlation-id">{correlation}</code>' in page and "Internal error" in page
    incident = _only(runtime, "unhandled_exception")
    assert incident.correlation_id == correlation  # the first request that hit it
    assert incident.occurrences == 2 and incident.last_seen_at == runtime.services.clock.now()
    assert "GET materials.index" in incident.subject and incident.severity == "critical"
    assert incident.opened_at == runtime.services.clock.now()


@pytest.mark.req("OPS-01")
def test_the_same_fault_in_a_later_hour_opens_a_new_incident(
    app: Flask, runtime: Runtime, owner_url: str, clock: FakeClock
) -> None:
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    _break_the_material_table(owner_url)
    assert browser.get("/materials/").status_code == 500
    clock.advance(minutes=61)
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)  # the first session idled out meanwhile
    assert browser.get("/materials/").status_code == 500
    incidents = [i for i in runtime.services.incidents.open_incidents() if i.kind == "unhandled_exception"]
    assert [i.occurrences for i in incidents] == [1, 1]


@pytest.mark.req("OPS-01")
def test_a_stored_pdf_whose_bytes_changed_is_refused_with_a_clear_page_and_an_incident(
    app: Flask, runtime: Runtime, owner_url: str
) -> None:
    floor = running_batch(runtime)
    stored = store(runtime, floor.batch_id, b"%PDF-1.7 the candidate bytes")
    with as_owner(owner_url, ("batch_document_no_update",)) as conn:
        conn.execute(text("UPDATE batch_document SET pdf = :pdf WHERE id = :id"), {"pdf": b"%PDF-x", "id": stored.id})
    browser = browser_of(app, floor.operator.user.username)

    response = browser.get(f"/batches/{floor.batch_id}/documents/{stored.id}.pdf")

    assert response.status_code == 409 and response.mimetype == "text/html"
    page = html.unescape(response.get_data(as_text=True))
    assert "Stored document failed its integrity check" in page and "%PDF-x" not in page
    incident = _only(runtime, "document_integrity")
    assert incident.correlation_id == response.headers["X-Request-ID"]
    assert f"document {stored.id} of batch {floor.batch_id}" in incident.message


@pytest.mark.req("OPS-01")
@pytest.mark.parametrize("role", [Role.QA, Role.ADMIN])
def test_qa_and_the_administrator_see_system_error_incidents_with_time_and_correlation_id(
    app: Flask, runtime: Runtime, owner_url: str, role: Role
) -> None:
    operator, _ = sign_in(app, runtime, Role.SUPERVISOR)
    _break_the_material_table(owner_url)
    correlation = operator.get("/materials/").headers["X-Request-ID"]
    browser, _ = sign_in(app, runtime, role)

    page = html.unescape(browser.get("/incidents/").get_data(as_text=True))

    incident = _only(runtime, "unhandled_exception")
    assert f'<tr id="incident-{incident.id}">' in page
    assert f'<code class="correlation">{correlation}</code>' in page
    assert incident.opened_at.strftime("%Y-%m-%dT%H:%M:%SZ") in page


def test_every_response_names_its_request_id(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    ids = {browser.get("/").headers["X-Request-ID"] for _ in range(2)}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
