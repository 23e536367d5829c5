"""No UI or API path hard-deletes anything (REC-04): no rule of the URL map accepts DELETE, and a DELETE sent to
every route, by a signed-in administrator or QA person, or by an API client holding every API permission, is
refused with 405 before any view runs."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.app.clients import API_PERMISSIONS
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.web.support import new_client, route_calls, sign_in

EVERY_KIND = frozenset({"page", "api", "public"})


@pytest.mark.req("REC-04")
def test_no_rule_of_the_url_map_accepts_delete(app: Flask) -> None:
    rules = list(app.url_map.iter_rules())
    assert len(rules) >= 30, "the URL map walk found too few rules"
    assert [r.rule for r in rules if "DELETE" in (r.methods or set())] == []


@pytest.mark.req("REC-04")
@pytest.mark.parametrize("role", [Role.ADMIN, Role.QA])
def test_delete_on_every_route_answers_405_for_a_signed_in_administrator_or_qa(
    app: Flask, runtime: Runtime, role: Role
) -> None:
    browser, admin = sign_in(app, runtime, role)
    paths = sorted({c.path for c in route_calls(app, admin.id, EVERY_KIND)})
    assert len(paths) >= 30, "the URL map walk found too few routes"
    before = runtime.services.trail.verify(), len(runtime.services.accounts.list_users())

    answers = {path: browser.delete(path).status_code for path in paths}

    assert {p: s for p, s in answers.items() if s != 405} == {}
    assert (runtime.services.trail.verify(), len(runtime.services.accounts.list_users())) == before


@pytest.mark.req("REC-04")
def test_delete_on_every_api_route_answers_405_for_a_client_with_every_api_permission(
    app: Flask, runtime: Runtime
) -> None:
    permissions = frozenset(str(p) for p in API_PERMISSIONS)
    token = runtime.services.api_clients.issue(Actor.system(), "erp", permissions, "test client")
    paths = sorted({c.path for c in route_calls(app, 1, frozenset({"api"}))})
    assert paths, "no API route found"

    answers = {p: new_client(app).delete(p, headers={"Authorization": f"Bearer {token}"}).status_code for p in paths}

    assert {p: s for p, s in answers.items() if s != 405} == {}
