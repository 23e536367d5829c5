"""The signing dialog over HTTP: what the signer sees before signing, what a signature records, replay, the
policy approval by QA, and badges issued and revoked on the admin page (SIG-04, SIG-10, SIG-15, PWD-08)."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ebr.app.context import Actor, AuditContext
from ebr.app.ports import StoredSignature
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.audit import to_utc_text
from ebr.domain.errors import InvalidInput
from ebr.domain.signatures import content_digest
from ebr.web.errors import status_of
from tests.factories import PASSWORD, actor_of, csrf_token, effective_policy, login, make_user
from tests.fakes import FakeClock
from tests.web.support import (
    CONTENT_HASH_RE,
    cookie_value,
    entries,
    entries_since,
    last_seq,
    new_client,
    post,
    request_setting_change,
    sign_dialog,
    sign_in,
)

REASON = "risk assessment RA-12: tighter lockout"
INTENT = "By entering your password you sign this record electronically with the meaning above."
ROW_RE = re.compile(r"<tr><th>([^<]+)</th><td>([^<]*)</td></tr>")
BADGE = "BADGE-7f3a-0001"


@pytest.fixture
def policy(runtime: Runtime) -> User:
    """A site signature policy approved by QA: nothing else can be signed before one is in force."""
    return effective_policy(runtime)


def open_dialog(browser: FlaskClient, value: str = "3", reason: str = REASON) -> str:
    """Request a lockout.threshold change on the settings page; the path of the signing dialog it opens."""
    requested = request_setting_change(browser, "lockout.threshold", value, reason)
    assert requested.status_code == 302, requested.status_code
    path = requested.location.removeprefix("https://localhost").removeprefix("http://localhost")
    assert re.fullmatch(r"/sign/[\w-]+", path), path
    return path


def shown_content(page: str) -> dict[str, str]:
    """The signed-content table of the dialog as the signer reads it."""
    return {key: html.unescape(value) for key, value in ROW_RE.findall(page)}


def dialog_data(browser: FlaskClient, dialog: str, **fields: str) -> dict[str, str]:
    """The dialog's form as a browser would submit it: CSRF token and the content hash shown, plus the fields."""
    page = browser.get(dialog)
    assert page.status_code == 200, page.status_code
    match = CONTENT_HASH_RE.search(page.get_data(as_text=True))
    assert match, "the signing dialog shows no content hash"
    return {"csrf_token": csrf_token(browser, dialog), "content_hash": match.group(1), **fields}


def signatures_on_changes(runtime: Runtime) -> list[StoredSignature]:
    """Every signature on a setting change, oldest first."""
    with runtime.services.uow(AuditContext(Actor.system(), runtime.services.clock.now())) as uow:
        return [s for s in uow.signatures.all() if s.object_type == "setting_change"]


def text_of(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- SIG-10: the dialog shows the meaning, the signed values, the hash and the intent first -------------------


@pytest.mark.req("SIG-10")
def test_the_settings_change_opens_a_dialog_showing_meaning_values_hash_and_intent_before_the_password(
    app: Flask, runtime: Runtime, clock: FakeClock, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    clock.advance(minutes=4)
    before = last_seq(runtime)
    dialog = open_dialog(browser)
    response = browser.get(dialog)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    content = shown_content(page)
    expected = {
        "object": "setting_change",
        "id": content["id"],
        "key": "lockout.threshold",
        "old": "5",
        "new": "3",
        "reason": REASON,
        "requested_by": admin.username,
        "requested_at": to_utc_text(clock.now()),
    }
    assert content == expected
    # The hash on screen is the hash of exactly the values on screen (typed as the service stores them).
    typed = {**expected, "id": int(content["id"]), "old": 5, "new": 3}
    hash_match = CONTENT_HASH_RE.search(page)
    assert hash_match
    assert f'<code id="content-hash">{hash_match.group(1)}</code>' in page
    assert hash_match.group(1) == content_digest(typed)
    meaning = '<strong id="sign-meaning">Approved by</strong>'
    # Meaning, values, hash and statement of intent all come before the password prompt in the page.
    password_prompt = page.index('name="password"')
    for shown in (meaning, '<table id="signed-content">', 'id="content-hash"', INTENT):
        assert page.index(shown) < password_prompt, shown
    assert "Approved by" in page.split("<title>")[1].split("</title>")[0]
    # Only shown: nothing is signed or changed by opening the dialog.
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert signatures_on_changes(runtime) == []
    assert [e.draft.action for e in entries_since(runtime, before) if e.draft.action in ("sign", "update")] == []


@pytest.mark.req("SIG-10")
@pytest.mark.parametrize("meaning", ["signed-off", "Approved by", "released"], ids=["unknown", "free text", "no rule"])
def test_a_meaning_outside_the_policy_is_refused_with_422_and_opens_nothing(
    app: Flask, runtime: Runtime, policy: User, meaning: str
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    change_id = shown_content(browser.get(dialog).get_data(as_text=True))["id"]
    with pytest.raises(InvalidInput, match=meaning) as refused:
        runtime.services.signing.request(actor_of(admin), cookie_value(browser), "setting_change", change_id, meaning)
    assert status_of(refused.value) == 422  # how the web layer answers it
    if meaning != "released":
        assert "approved, authored, calibrated, cancelled, cleaned, closed, corrected, dispositioned" in str(
            refused.value
        )  # the controlled list is named


@pytest.mark.req("SIG-10")
def test_a_meaning_posted_with_the_dialog_is_ignored_the_challenge_fixed_it(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    data = dialog_data(browser, dialog, username=admin.username, password=PASSWORD, acknowledge="y", meaning="released")
    assert browser.post(dialog, data=data).status_code == 302
    (signature,) = signatures_on_changes(runtime)
    assert (signature.meaning, signature.meaning_text) == ("approved", "Approved by")


# --- signing: the change applies and the manifestation shows who, when (UTC, Z) and the meaning ------------------


def test_signing_the_dialog_applies_the_change_and_shows_name_user_id_utc_time_and_meaning(
    app: Flask, runtime: Runtime, clock: FakeClock, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    clock.advance(minutes=2, seconds=13)
    signed = sign_dialog(browser, dialog, admin.username)
    assert signed.status_code == 302
    assert signed.location.endswith("/admin/settings")
    assert runtime.services.settings.current()["lockout.threshold"] == 3
    settings_page = text_of(browser.get("/admin/settings"))
    when = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert when == "2026-11-25T09:02:13Z"
    assert f"Approved by {admin.full_name} ({admin.username}), {when}" in settings_page
    (signature,) = signatures_on_changes(runtime)
    assert (signature.signer_id, signature.signer_username, signature.signer_name) == (
        admin.id,
        admin.username,
        admin.full_name,
    )
    assert signature.signed_at == clock.now()
    assert runtime.services.signing.verify() == []


def test_a_wrong_password_is_403_with_the_attempts_left_and_changes_nothing(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    before = last_seq(runtime)
    refused = sign_dialog(browser, dialog, admin.username, password="Wrong-Horse-0")
    assert refused.status_code == 403
    page = text_of(refused)
    assert "4 attempts left" in page
    assert 'id="sign-error"' in page
    assert "Wrong-Horse-0" not in page  # the password is never rendered back
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert signatures_on_changes(runtime) == []
    assert [e.draft.action for e in entries_since(runtime, before)] == ["sign_failed"]
    # The challenge is still open: the right password signs it.
    assert sign_dialog(browser, dialog, admin.username).status_code == 302
    assert runtime.services.settings.current()["lockout.threshold"] == 3


# --- SIG-15: a single-use challenge bound to the hash shown --------------------------------------------------------


@pytest.mark.req("SIG-15")
def test_replaying_the_same_signing_post_is_409_and_records_nothing_more(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    data = dialog_data(browser, dialog, username=admin.username, password=PASSWORD, acknowledge="y")
    assert browser.post(dialog, data=data).status_code == 302
    before = last_seq(runtime)
    replay = browser.post(dialog, data=data)
    assert replay.status_code == 409
    assert "already used" in text_of(replay)
    assert entries_since(runtime, before) == []
    assert len(signatures_on_changes(runtime)) == 1
    assert len(entries(runtime, object_type="setting", action="update")) == 1


@pytest.mark.req("SIG-15")
def test_signing_another_content_hash_than_the_one_shown_is_refused_as_content_changed(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    data = dialog_data(browser, dialog, username=admin.username, password=PASSWORD, acknowledge="y")
    refused = browser.post(dialog, data={**data, "content_hash": "0" * 64})
    assert refused.status_code == 409  # a conflict with what was shown, as everywhere else
    assert "content changed after it was shown: review it again" in text_of(refused)
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    assert signatures_on_changes(runtime) == []


# --- SIG-04: no route deletes, moves or replaces a signature --------------------------------------------------------


@pytest.mark.req("SIG-04")
def test_there_is_no_delete_or_put_route_for_signatures(app: Flask, runtime: Runtime, policy: User) -> None:
    signing_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/sign")]
    assert signing_rules, "no signing routes found"
    for rule in signing_rules:
        assert (rule.methods or set()) - {"HEAD", "OPTIONS"} <= {"GET", "POST"}, (rule.rule, rule.methods)
    for rule in app.url_map.iter_rules():
        if "sign" in rule.rule or "sign" in rule.endpoint:
            assert not (rule.methods or set()) & {"DELETE", "PUT", "PATCH"}, rule.rule
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    dialog = open_dialog(browser)
    assert sign_dialog(browser, dialog, admin.username).status_code == 302
    (signature,) = signatures_on_changes(runtime)
    token = csrf_token(browser, "/password")
    for method in ("DELETE", "PUT", "PATCH"):
        response = browser.open(dialog, method=method, data={"csrf_token": token})
        assert response.status_code == 405, method
    assert signatures_on_changes(runtime) == [signature]
    assert runtime.services.signing.verify() == []


# --- the site policy: QA imports and approves it through the dialog; nobody else may ---------------------------------


def test_a_qa_user_approving_the_site_policy_through_the_dialog_makes_it_effective(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    admin_browser, _ = sign_in(app, runtime, Role.ADMIN)
    # Before any policy is in force nothing else can be signed: the setting change opens no dialog.
    blocked = request_setting_change(admin_browser, "lockout.threshold", "3", REASON)
    assert blocked.status_code == 422
    assert "No site signature policy is in force" in text_of(blocked)
    browser, qa = sign_in(app, runtime, Role.QA)
    assert browser.get("/sign/policies").status_code == 200
    imported = post(browser, "/sign/policies/import", token_from="/sign/policies")
    assert imported.status_code == 302
    (draft,) = runtime.services.policy.list()
    assert draft.status == "draft"
    assert runtime.services.policy.effective() is None
    page = text_of(browser.get("/sign/policies"))
    assert f'id="approve-{draft.id}"' in page
    started = post(browser, f"/sign/policies/{draft.id}/approve", token_from="/sign/policies")
    assert started.status_code == 302 and "/sign/" in started.location
    shown = shown_content(browser.get(started.location).get_data(as_text=True))
    assert shown == {
        "object": "signature_policy",
        "id": str(draft.id),
        "version": draft.version,
        "content_hash": draft.content_hash,
    }
    assert runtime.services.policy.effective() is None  # opening the dialog approves nothing
    signed = sign_dialog(browser, started.location, qa.username)
    assert signed.status_code == 302 and signed.location.endswith("/sign/policies")
    effective = runtime.services.policy.effective()
    assert effective is not None and effective.content_hash == draft.content_hash
    (approved,) = runtime.services.policy.list()
    assert (approved.status, approved.effective_at) == ("effective", clock.now())
    listing = text_of(browser.get("/sign/policies"))
    when = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"Approved by: {qa.full_name} ({qa.username}), {when}" in listing
    assert f'id="approve-{draft.id}"' not in listing
    # Now the administrator's setting change can be signed.
    assert request_setting_change(admin_browser, "lockout.threshold", "3", REASON).status_code == 302


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN], ids=str)
def test_only_qa_reaches_the_policy_routes_others_get_403(app: Flask, runtime: Runtime, role: Role) -> None:
    qa_browser, _ = sign_in(app, runtime, Role.QA)
    assert post(qa_browser, "/sign/policies/import", token_from="/sign/policies").status_code == 302
    (draft,) = runtime.services.policy.list()
    browser, user = sign_in(app, runtime, role)
    before = last_seq(runtime)
    assert browser.get("/sign/policies").status_code == 403
    assert post(browser, "/sign/policies/import").status_code == 403
    assert post(browser, f"/sign/policies/{draft.id}/approve").status_code == 403
    assert runtime.services.policy.list() == [draft]
    assert runtime.services.policy.effective() is None
    denied = [(e.draft.action, e.draft.username) for e in entries_since(runtime, before)]
    assert denied == [("permission_denied", user.username)] * 3


# --- PWD-08: badges issued, replaced and revoked on the admin page; a badge never signs alone ------------------------


def issue(browser: FlaskClient, user: User, code: str, reason: str) -> TestResponse:
    return post(browser, f"/admin/users/{user.id}/badge", {"code": code, "reason": reason}, f"/admin/users/{user.id}")


def revoke(browser: FlaskClient, user: User, reason: str) -> TestResponse:
    return post(browser, f"/admin/users/{user.id}/badge/revoke", {"reason": reason}, f"/admin/users/{user.id}")


@pytest.mark.req("PWD-08")
def test_badge_issue_and_revocation_on_the_admin_page_are_audited_and_a_revoked_badge_cannot_sign(
    app: Flask, runtime: Runtime, clock: FakeClock, policy: User
) -> None:
    manager, boss = sign_in(app, runtime, Role.ADMIN)
    holder = make_user(runtime, Role.ADMIN)
    assert "No active badge." in text_of(manager.get(f"/admin/users/{holder.id}"))
    clock.advance(minutes=1)
    before = last_seq(runtime)
    issued = issue(manager, holder, BADGE, "new starter, badge handed over in person")
    assert issued.status_code == 302
    user_page = text_of(manager.get(issued.location))  # also renders the flash
    assert "Badge issued" in user_page
    assert f"Active badge issued {clock.now():%Y-%m-%dT%H:%M:%SZ}" in user_page
    assert BADGE not in user_page  # never displayed after issue
    new = entries_since(runtime, before)
    assert [(e.draft.action, e.draft.object_type) for e in new] == [("create", "badge")]
    assert (new[0].draft.username, new[0].draft.reason) == (boss.username, "new starter, badge handed over in person")
    assert all(BADGE not in str(e.draft) for e in new)

    # The holder scans the badge in place of the user id and gives the password: it signs as the holder.
    browser = new_client(app)
    assert login(browser, holder.username) == 302
    dialog = open_dialog(browser, "3")
    data = dialog_data(browser, dialog, badge=BADGE, password=PASSWORD, acknowledge="y")
    assert browser.post(dialog, data=data).status_code == 302
    (signature,) = signatures_on_changes(runtime)
    assert (signature.signer_id, signature.signer_username) == (holder.id, holder.username)

    # Without the password the badge signs nothing.
    dialog = open_dialog(browser, "4")
    no_password = browser.post(dialog, data=dialog_data(browser, dialog, badge=BADGE))
    assert no_password.status_code == 422  # the form refuses it before any look-up
    assert "needs the password" in text_of(no_password)
    assert BADGE not in text_of(no_password)

    clock.advance(minutes=1)
    before = last_seq(runtime)
    revoked = revoke(manager, holder, "badge reported lost")
    assert revoked.status_code == 302
    assert "No active badge." in text_of(manager.get(f"/admin/users/{holder.id}"))
    new = entries_since(runtime, before)
    assert [(e.draft.object_type, e.draft.field, e.draft.old_value, e.draft.new_value) for e in new] == [
        ("badge", "revoked_at", None, to_utc_text(clock.now())),
        ("badge", "revoke_reason", "", "badge reported lost"),
    ]
    for entry in new:
        assert (entry.draft.action, entry.draft.username, entry.draft.reason, entry.draft.at) == (
            "update",
            boss.username,
            "badge reported lost",
            clock.now(),
        )

    refused = browser.post(dialog, data=dialog_data(browser, dialog, badge=BADGE, password=PASSWORD))
    assert refused.status_code == 403
    assert "unknown or revoked" in text_of(refused)
    assert runtime.services.settings.current()["lockout.threshold"] == 3
    assert len(signatures_on_changes(runtime)) == 1
    assert revoke(manager, holder, "badge reported lost").status_code == 409  # nothing left to revoke


@pytest.mark.req("PWD-08")
def test_a_replacement_badge_revokes_the_earlier_one_and_a_used_code_is_never_issued_again(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    manager, _ = sign_in(app, runtime, Role.ADMIN)
    holder = make_user(runtime, Role.ADMIN)
    assert issue(manager, holder, BADGE, "new starter").status_code == 302
    before = last_seq(runtime)
    assert issue(manager, holder, "BADGE-7f3a-0002", "card damaged: replacement").status_code == 302
    assert {(e.draft.action, e.draft.object_type) for e in entries_since(runtime, before)} == {
        ("update", "badge"),
        ("create", "badge"),
    }
    assert text_of(manager.get(f"/admin/users/{holder.id}")).count("Active badge issued") == 1
    reissued = issue(manager, holder, BADGE, "found the old card")
    assert reissued.status_code == 409
    assert "never reused" in text_of(reissued)
    browser = new_client(app)
    assert login(browser, holder.username) == 302
    dialog = open_dialog(browser)
    old = browser.post(dialog, data=dialog_data(browser, dialog, badge=BADGE, password=PASSWORD, acknowledge="y"))
    assert old.status_code == 403
    assert "unknown or revoked" in text_of(old)


def test_a_user_id_and_a_badge_together_are_refused_as_ambiguous(app: Flask, runtime: Runtime, policy: User) -> None:
    manager, _ = sign_in(app, runtime, Role.ADMIN)
    holder = make_user(runtime, Role.ADMIN)
    assert issue(manager, holder, BADGE, "new starter").status_code == 302
    dialog = open_dialog(manager)
    data = dialog_data(manager, dialog, username=holder.username, badge=BADGE, password=PASSWORD, acknowledge="y")
    refused = manager.post(dialog, data=data)
    assert refused.status_code == 422
    assert "not both" in text_of(refused)
    assert signatures_on_changes(runtime) == []


@pytest.mark.parametrize("path", ["badge", "badge/revoke"])
def test_badge_routes_need_users_manage_and_a_reason(app: Flask, runtime: Runtime, path: str) -> None:
    holder = make_user(runtime, Role.ADMIN)
    operator, _ = sign_in(app, runtime, Role.OPERATOR)
    assert (
        post(operator, f"/admin/users/{holder.id}/{path}", {"code": BADGE, "reason": "just because"}).status_code == 403
    )
    manager, _ = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    assert post(manager, f"/admin/users/{holder.id}/{path}", {"code": BADGE}).status_code == 422
    assert entries_since(runtime, before) == []
