"""ACC-01: every route declares one class; only the explicit allow-list answers without a session."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Permission, Role
from ebr.web.app import _check_every_route_declared
from ebr.web.routes import access_of, api, page, public
from tests.factories import csrf_token, make_user
from tests.web.support import PUBLIC_ALLOW_LIST, is_login_redirect, new_client, route_calls, sign_in


@pytest.mark.req("ACC-01")
def test_every_endpoint_of_the_url_map_declares_a_route_class(app: Flask) -> None:
    undeclared = [r.endpoint for r in app.url_map.iter_rules() if access_of(app.view_functions[r.endpoint]) is None]
    assert undeclared == []
    kinds = {access_of(app.view_functions[r.endpoint]).kind for r in app.url_map.iter_rules()}  # type: ignore[union-attr]
    assert kinds <= {"public", "page", "api"}


@pytest.mark.req("ACC-01")
def test_a_view_cannot_declare_two_route_classes() -> None:
    def view() -> str:
        return ""

    public()(view)
    with pytest.raises(TypeError, match="more than one route class"):
        page(Permission.SELF)(view)
    with pytest.raises(TypeError, match="more than one route class"):
        api(Permission.SYSTEM_READ)(view)


@pytest.mark.req("ACC-01")
def test_the_app_refuses_to_start_with_an_undeclared_route() -> None:
    bare = Flask(__name__)

    @bare.route("/forgotten")
    def forgotten() -> str:
        return "open to all"

    with pytest.raises(RuntimeError, match="forgotten"):
        _check_every_route_declared(bare)


@pytest.mark.req("ACC-01")
def test_the_public_endpoints_are_exactly_login_static_files_and_health(app: Flask) -> None:
    public_endpoints = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if access_of(app.view_functions[r.endpoint]).kind == "public"  # type: ignore[union-attr]
    }
    assert public_endpoints == PUBLIC_ALLOW_LIST


def test_the_public_endpoints_answer_without_a_session(client: FlaskClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/health").get_json() == {"status": "ok"}
    with client.get("/static/style.css") as stylesheet:  # a file response: close it
        assert stylesheet.status_code == 200


@pytest.mark.req("ACC-01")
def test_every_page_route_without_a_session_redirects_to_login_or_answers_401(app: Flask, runtime: Runtime) -> None:
    target = make_user(runtime, Role.OPERATOR)
    calls = list(route_calls(app, target.id))
    assert len({c.endpoint for c in calls}) >= 15, "the URL map walk found too few page routes"
    wrong = []
    for call in calls:
        response = new_client(app).open(call.path, method=call.method)  # no cookie at all
        # A page GET goes to the login page; a machine route under /api/ and every other method answer 401.
        browsing = call.method == "GET" and not call.path.startswith("/api/")
        ok = is_login_redirect(response) if browsing else response.status_code == 401
        if not ok:
            wrong.append(f"{call}: {response.status_code} {response.location or ''}")
    assert wrong == []


@pytest.mark.req("ACC-01")
def test_a_pre_login_session_with_a_valid_csrf_token_still_gets_401_on_every_page_post(
    app: Flask, runtime: Runtime
) -> None:
    target = make_user(runtime, Role.OPERATOR)
    browser = new_client(app)
    token = csrf_token(browser, "/login")  # the anonymous session a login form opens
    wrong = []
    for call in route_calls(app, target.id):
        if call.method != "POST":
            continue
        response = browser.post(call.path, data={"csrf_token": token, "reason": "forged by a stranger"})
        if response.status_code != 401:
            wrong.append(f"{call}: {response.status_code}")
    assert wrong == []
    assert runtime.services.accounts.get(target.id) == target  # nothing changed


@pytest.mark.req("ACC-01")
def test_the_login_redirect_remembers_the_page_asked_for(client: FlaskClient) -> None:
    response = client.get("/admin/users")
    assert is_login_redirect(response)
    assert "next=/admin/users" in response.location


@pytest.mark.req("ACC-01")
def test_every_api_route_answers_401_without_a_valid_bearer_token(app: Flask, runtime: Runtime) -> None:
    calls = list(route_calls(app, 1, kinds=frozenset({"api"})))
    assert calls, "no API route found"
    browser, _ = sign_in(app, runtime, Role.ADMIN)  # a logged-in browser session is no API credential
    for call in calls:
        for headers in ({}, {"Authorization": "Bearer ebr_not-a-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            assert new_client(app).open(call.path, method=call.method, headers=headers).status_code == 401, call
        assert browser.open(call.path, method=call.method).status_code == 401, call


@pytest.mark.req("ACC-01")
def test_an_api_token_opens_only_the_api_not_the_pages(app: Flask, runtime: Runtime) -> None:
    token = runtime.services.api_clients.issue(Actor.system(), "erp", frozenset({"system.read"}), "test client")
    headers = {"Authorization": f"Bearer {token}"}
    assert new_client(app).get("/api/version", headers=headers).status_code == 200
    assert is_login_redirect(new_client(app).get("/about", headers=headers))
