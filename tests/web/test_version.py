"""VAL-04: the running version and build commit, through the API and on every page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

import ebr
from ebr.adapters.db.models import ApiClientRow
from ebr.app.context import Actor
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.web.support import new_client, sign_in

COMMIT = "abc123def456"  # tests/conftest.py settings.build_commit
FOOTER = re.compile(r'<span id="version">([^<]+)</span>')


def bearer(runtime: Runtime, *permissions: str) -> dict[str, str]:
    token = runtime.services.api_clients.issue(Actor.system(), "erp", frozenset(permissions), "test client")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.req("VAL-04")
def test_the_version_api_returns_the_semantic_version_and_the_build_commit(app: Flask, runtime: Runtime) -> None:
    response = new_client(app).get("/api/version", headers=bearer(runtime, "system.read"))
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"version": ebr.__version__, "commit": COMMIT, "build": f"{ebr.__version__}+{COMMIT}"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"])


@pytest.mark.req("VAL-04")
@pytest.mark.req("ACC-01")
def test_the_version_api_without_a_token_is_401_in_json(app: Flask) -> None:
    response = new_client(app).get("/api/version")
    assert response.status_code == 401
    assert response.is_json
    assert COMMIT not in response.get_data(as_text=True)


@pytest.mark.req("ACC-02")
def test_a_token_without_system_read_is_403_on_the_version_api(app: Flask, runtime: Runtime) -> None:
    response = new_client(app).get("/api/version", headers=bearer(runtime, "erp.inbound"))
    assert response.status_code == 403
    assert "system.read" in response.get_json()["message"]


@pytest.mark.req("PWD-04")
def test_a_revoked_token_is_refused_at_once(app: Flask, runtime: Runtime) -> None:
    headers = bearer(runtime, "system.read")
    browser = new_client(app)
    assert browser.get("/api/version", headers=headers).status_code == 200
    with runtime.engine.connect() as conn:
        client_id = conn.execute(select(ApiClientRow.id).where(ApiClientRow.name == "erp")).scalar_one()
    runtime.services.api_clients.revoke(Actor.system(), client_id, "token leaked")
    assert browser.get("/api/version", headers=headers).status_code == 401


@pytest.mark.req("VAL-04")
def test_every_page_footer_shows_the_same_version_string_as_the_api(app: Flask, runtime: Runtime) -> None:
    build = new_client(app).get("/api/version", headers=bearer(runtime, "system.read")).get_json()["build"]
    assert FOOTER.findall(new_client(app).get("/login").get_data(as_text=True)) == [build]
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    for path in ("/", "/about", "/password"):
        assert FOOTER.findall(browser.get(path).get_data(as_text=True)) == [build], path
    error_page = browser.get("/admin/users")  # a 403 page carries it too
    assert error_page.status_code == 403
    assert FOOTER.findall(error_page.get_data(as_text=True)) == [build]


@pytest.mark.req("VAL-04")
def test_the_about_page_names_version_and_commit(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    page = browser.get("/about").get_data(as_text=True)
    assert f'<dd id="about-version">{ebr.__version__}</dd>' in page
    assert f'<dd id="about-commit">{COMMIT}</dd>' in page
