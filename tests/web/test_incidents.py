"""The incidents page: QA, supervisors and the admin see open incidents and acknowledge them with CSRF and a reason."""

from __future__ import annotations

import html

import pytest
from flask import Flask

from ebr.app.context import Actor, AuditContext
from ebr.app.incidents import open_incident
from ebr.app.ports import Incident
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.web.support import entries_since, last_seq, post, sign_in


def opened(runtime: Runtime, key: str = "hold-overdue:5") -> Incident:
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now)) as uow:
        incident = open_incident(uow, key, "hold_overdue", "warning", "Hold <b>exceeded</b>", "Batch B-7 step 5", now)
        uow.commit()
    assert incident is not None
    return incident


@pytest.mark.parametrize("role", [Role.QA, Role.SUPERVISOR, Role.ADMIN])
def test_the_open_incidents_are_listed_and_acknowledged_from_the_page(app: Flask, runtime: Runtime, role: Role) -> None:
    incident = opened(runtime)
    browser, user = sign_in(app, runtime, role)
    page = browser.get("/incidents/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Hold &lt;b&gt;exceeded&lt;/b&gt;" in text  # escaped: subjects come from batch data
    assert f'action="/incidents/{incident.id}/acknowledge"' in text
    before = last_seq(runtime)
    done = post(browser, f"/incidents/{incident.id}/acknowledge", {"reason": "line informed"}, token_from="/incidents/")
    assert done.status_code == 302
    assert runtime.services.incidents.open_incidents() == []
    [entry] = entries_since(runtime, before)
    assert (entry.draft.object_type, entry.draft.username, entry.draft.reason) == (
        "incident",
        user.username,
        "line informed",
    )
    assert entry.draft.context.get("request_id")
    after = html.unescape(browser.get("/incidents/").get_data(as_text=True))
    assert "No open incidents." in after and f"Incident #{incident.id} acknowledged." in after


def test_an_acknowledgement_without_the_csrf_token_is_refused_and_changes_nothing(app: Flask, runtime: Runtime) -> None:
    incident = opened(runtime)
    browser, _ = sign_in(app, runtime, Role.QA)
    before = last_seq(runtime)
    response = browser.post(f"/incidents/{incident.id}/acknowledge", data={"reason": "line informed"})
    assert response.status_code == 400
    assert runtime.services.incidents.open_incidents() == [incident]
    assert entries_since(runtime, before) == []


def test_bad_acknowledgements_get_a_clear_4xx_and_change_nothing(app: Flask, runtime: Runtime) -> None:
    incident = opened(runtime)
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    before = last_seq(runtime)
    no_reason = post(browser, f"/incidents/{incident.id}/acknowledge", {"reason": ""}, token_from="/incidents/")
    assert no_reason.status_code == 422
    assert "Say what was done" in no_reason.get_data(as_text=True)
    unknown = post(browser, f"/incidents/{incident.id + 1}/acknowledge", {"reason": "seen"}, token_from="/incidents/")
    assert unknown.status_code == 404
    assert runtime.services.incidents.open_incidents() == [incident]
    assert entries_since(runtime, before) == []
    assert post(browser, f"/incidents/{incident.id}/acknowledge", {"reason": "seen"}, "/incidents/").status_code == 302
    again = post(browser, f"/incidents/{incident.id}/acknowledge", {"reason": "seen"}, token_from="/incidents/")
    assert again.status_code == 409
