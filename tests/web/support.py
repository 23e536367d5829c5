"""Helpers shared by the web tests: signed-in clients, CSRF-carrying posts, audit look-ups, URL map walks."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Permission, Role, User
from ebr.domain.audit import AuditEntry
from ebr.web.routes import Access, access_of
from ebr.web.session import COOKIE
from tests.factories import PASSWORD, csrf_token, login, make_user

# Endpoints that answer without any session (ACC-01): reviewed by hand, not derived from the code under test.
# The OpenAPI document is public on purpose: the contract only, no data (ebr/web/api/openapi.py says why).
PUBLIC_ALLOW_LIST = frozenset({"static", "auth.login", "api.health", "api.openapi"})
# Example values for URL parameters; `any(...)` converters list every option so each variant is called.
ACTIONS = ("disable", "enable", "unlock", "reset")
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


def new_client(app: Flask) -> FlaskClient:
    """A browser with an empty cookie jar."""
    return app.test_client()


def sign_in(app: Flask, runtime: Runtime, *roles: Role, temporary: bool = False) -> tuple[FlaskClient, User]:
    """A fresh user with these roles, logged in through the form in a new browser."""
    user = make_user(runtime, *roles, temporary=temporary)
    browser = new_client(app)
    assert login(browser, user.username) == 302
    return browser, user


def set_setting(runtime: Runtime, key: str, value: int) -> None:
    """Arrange a GMP setting directly in the database (test set-up; the web change is signed, see test_settings)."""
    now = runtime.services.clock.now()
    with runtime.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        uow.settings.put(key, value, now)
        uow.commit()


CONTENT_HASH_RE = re.compile(r'name="content_hash" type="hidden" value="([0-9a-f]{64})"')


def request_setting_change(browser: FlaskClient, key: str, value: str, reason: str, **kwargs: Any) -> TestResponse:
    """Submit the settings form; a valid request answers with a redirect to the signing dialog."""
    data = {"key": key, "value": value, "reason": reason}
    return post(browser, "/admin/settings", data, token_from="/admin/settings", **kwargs)


def sign_dialog(
    browser: FlaskClient, dialog: str, username: str, password: str = PASSWORD, **kwargs: Any
) -> TestResponse:
    """Sign in the dialog at this path with the content hash it shows, as a person at the screen would."""
    page = browser.get(dialog)
    assert page.status_code == 200, page.status_code
    match = CONTENT_HASH_RE.search(page.get_data(as_text=True))
    assert match, "the signing dialog shows no content hash"
    data = {"content_hash": match.group(1), "username": username, "password": password, "acknowledge": "y"}
    return post(browser, dialog, data, token_from=dialog, **kwargs)


def change_setting(browser: FlaskClient, signer: User, key: str, value: str, reason: str) -> TestResponse:
    """The whole web flow of a GMP setting change: request with a reason, then sign it (needs a policy in force)."""
    requested = request_setting_change(browser, key, value, reason)
    assert requested.status_code == 302 and "/sign/" in requested.location, requested.status_code
    return sign_dialog(browser, requested.location, signer.username)


def post(
    browser: FlaskClient,
    path: str,
    data: Mapping[str, object] | None = None,
    token_from: str = "/password",
    **kwargs: Any,
) -> TestResponse:
    """POST a form with the session's CSRF token, read from a form page like a browser does."""
    body: dict[str, object] = {"csrf_token": csrf_token(browser, token_from), **(data or {})}
    return browser.post(path, data=body, **kwargs)


def entries(runtime: Runtime, **flt: str) -> list[AuditEntry]:
    """Audit entries matching the filter, oldest first."""
    return runtime.services.trail.query(AuditFilter(**flt), limit=None)  # type: ignore[arg-type]  # str fields


def last_seq(runtime: Runtime) -> int:
    """The sequence number of the newest audit entry (0 on an empty trail)."""
    found = entries(runtime)
    return found[-1].seq if found else 0


def entries_since(runtime: Runtime, seq: int) -> list[AuditEntry]:
    """Entries appended after the given sequence number."""
    return [e for e in entries(runtime) if e.seq > seq]


def session_cookie(response: TestResponse) -> tuple[str, dict[str, str]]:
    """The raw Set-Cookie header of the session cookie and its attributes (lower-cased names)."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, f"expected one {COOKIE} cookie, got {response.headers.getlist('Set-Cookie')}"
    raw = headers[0]
    attributes = {}
    for part in raw.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return raw, attributes


def cookie_value(browser: FlaskClient) -> str:
    """The session token the browser holds."""
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None, "the browser holds no session cookie"
    return cookie.value


@dataclass(frozen=True)
class RouteCall:
    """One concrete request to one endpoint: method, path and the route's declared class."""

    endpoint: str
    method: str
    path: str
    access: Access

    @property
    def permission(self) -> Permission | None:
        return self.access.permission

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.endpoint})"


def route_calls(app: Flask, user_id: int, kinds: frozenset[str] = frozenset({"page"})) -> Iterator[RouteCall]:
    """Every (endpoint, method, concrete URL) of the URL map whose class is in `kinds`."""
    samples: dict[str, tuple[object, ...]] = {
        "user_id": (user_id,),
        "action": ACTIONS,
        "filename": ("style.css",),
        "challenge_id": ("no-such-challenge",),
        "policy_id": (1,),
        "version_id": (1,),
        "order_id": (1,),
        "incident_id": (1,),
        "terminal_id": (1,),
        "batch_id": ("B-NONE",),
        "step_pk": (1,),
        "value_pk": (1,),
        "deviation_pk": (1,),
        "action_pk": (1,),
        "code": ("EQ-NONE",),
        "entry_id": (1,),
        "material_code": ("MAT-NONE",),
        "lot_number": ("LOT-NONE",),
        "document_id": (1,),
        "order_number": ("PO-NONE",),
        "client_id": (1,),
        "message_id": (1,),
        "form": ("xml", "json"),
        "sample_id": ("B-NONE-S1",),
        "sha256": ("0" * 64,),
        "number": ("SITE-1-PF-999999",),
    }
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
            access = access_of(app.view_functions[rule.endpoint])
            assert access is not None, rule.endpoint
            if access.kind not in kinds:
                continue
            names = sorted(rule.arguments)
            unknown = [n for n in names if n not in samples]
            assert not unknown, f"no sample value for URL parameter(s) {unknown} of {rule.endpoint}: add one"
            for values in itertools.product(*(samples[n] for n in names)):
                params: dict[str, Any] = dict(zip(names, values, strict=True))
                path = url_for(rule.endpoint, **params)
                for method in sorted((rule.methods or set()) - IGNORED_METHODS):
                    yield RouteCall(rule.endpoint, method, path, access)


def is_login_redirect(response: TestResponse) -> bool:
    """A redirect to the login page."""
    return response.status_code in (301, 302, 303, 307, 308) and response.location.split("?")[0].endswith("/login")


def is_password_redirect(response: TestResponse) -> bool:
    """A redirect to the change-password page."""
    return response.status_code in (302, 303) and response.location.split("?")[0].endswith("/password")


def body_without_csrf(response: TestResponse) -> str:
    """The page text with every CSRF token blanked (the only part allowed to differ between two answers)."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*(")', r"\1\2", response.get_data(as_text=True))
