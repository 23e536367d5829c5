"""The signature service: re-authentication, continuous session, single use, roles, lockout (21 CFR 11.200)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ebr.app.context import RequestInfo
from ebr.app.ports import AuditFilter, StoredSignature
from ebr.app.signing import Credentials
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.signatures import ContentChanged, SignatureRefused
from tests.factories import PASSWORD, actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock


def _change(runtime: Runtime, admin: User, value: str = "3") -> str:
    change = runtime.services.settings.request_change(actor_of(admin), "lockout.threshold", value, "CAPA-7 review")
    return str(change.id)


@pytest.fixture
def admin(runtime: Runtime) -> User:
    effective_policy(runtime)
    return make_user(runtime, Role.ADMIN, full_name="Ada Admin")


@pytest.mark.req("SIG-05")
def test_first_signature_of_a_session_needs_the_user_id_later_ones_the_password_alone(
    runtime: Runtime, admin: User
) -> None:
    token = session_token(runtime, admin)
    with pytest.raises(SignatureRefused, match="First signature of this session"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved", username="")
    sign(runtime, admin, token, "setting_change", _change(runtime, admin, "4"), "approved")
    second = sign(runtime, admin, token, "setting_change", _change(runtime, admin, "6"), "approved", username="")
    assert isinstance(second, StoredSignature) and second.signer_id == admin.id
    with pytest.raises(SignatureRefused, match="needs the password"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin, "7"), "approved", password="")


@pytest.mark.req("SIG-06")
def test_after_the_session_idles_out_a_new_session_needs_all_components_again(
    runtime: Runtime, admin: User, clock: FakeClock
) -> None:
    token = session_token(runtime, admin)
    sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved")
    clock.advance(minutes=16)
    with pytest.raises(SignatureRefused, match="session has ended"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin, "4"), "approved", username="")
    fresh = session_token(runtime, admin)
    with pytest.raises(SignatureRefused, match="First signature"):
        sign(runtime, admin, fresh, "setting_change", _change(runtime, admin, "4"), "approved", username="")
    sign(runtime, admin, fresh, "setting_change", _change(runtime, admin, "4"), "approved")


@pytest.mark.req("SIG-07")
def test_a_second_person_at_someone_elses_terminal_is_recorded_as_the_signer(runtime: Runtime, admin: User) -> None:
    other_admin = make_user(runtime, Role.ADMIN, full_name="Otto Other")
    token = session_token(runtime, admin)
    signature = sign(
        runtime, admin, token, "setting_change", _change(runtime, admin), "approved", username=other_admin.username
    )
    assert isinstance(signature, StoredSignature)
    assert (signature.signer_id, signature.signer_name) == (other_admin.id, "Otto Other")
    # The session owner's password cannot sign under the other person's id.
    with pytest.raises(SignatureRefused, match="wrong password"):
        sign(
            runtime,
            admin,
            token,
            "setting_change",
            _change(runtime, admin, "4"),
            "approved",
            username=other_admin.username,
            password="Not-Ottos-pass-1",
        )


@pytest.mark.req("SIG-08")
def test_a_temporary_password_from_an_admin_reset_cannot_sign_until_the_owner_sets_their_own(
    runtime: Runtime, admin: User
) -> None:
    boss = make_user(runtime, Role.ADMIN)
    temporary = runtime.services.accounts.reset_password(actor_of(boss), admin.id, "forgotten password")
    token = session_token(runtime, admin, temporary)
    with pytest.raises(SignatureRefused, match="temporary"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved", password=temporary)
    runtime.services.auth.change_password(actor_of(admin), temporary, "Own-New-Secret-8", token, RequestInfo())
    token = session_token(runtime, admin, "Own-New-Secret-8")
    signature = sign(
        runtime, admin, token, "setting_change", _change(runtime, admin), "approved", password="Own-New-Secret-8"
    )
    assert isinstance(signature, StoredSignature)
    assert runtime.services.signing.verify() == []


@pytest.mark.req("SIG-09")
@pytest.mark.req("SIG-02")
def test_signatures_keep_the_name_at_signing_and_verify_after_rename_and_deactivation(
    runtime: Runtime, admin: User
) -> None:
    boss = make_user(runtime, Role.ADMIN)
    change_id = _change(runtime, admin)
    sign(runtime, admin, session_token(runtime, admin), "setting_change", change_id, "approved")
    with runtime.engine.begin() as conn:  # a rename (no rename feature exists; the record must not depend on it)
        conn.execute(text("UPDATE user_account SET full_name = 'Ada Renamed' WHERE id = :i"), {"i": admin.id})
    runtime.services.accounts.set_active(actor_of(boss), admin.id, False, "left the company")
    [signature] = runtime.services.signing.signatures_on("setting_change", change_id)
    assert (signature.signer_name, signature.signer_username) == ("Ada Admin", admin.username)
    assert runtime.services.signing.verify() == []


@pytest.mark.req("SIG-02")
def test_signature_rows_cannot_be_changed_or_deleted_through_the_application_connection(
    runtime: Runtime, admin: User
) -> None:
    sign(runtime, admin, session_token(runtime, admin), "setting_change", _change(runtime, admin), "approved")
    for statement in ("UPDATE signature SET signer_name = 'Someone Else'", "DELETE FROM signature"):
        with pytest.raises(Exception, match=r"(?i)append-only|permission denied"), runtime.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(runtime.services.signing.signatures_on("setting_change", "1")) == 1


@pytest.mark.req("SIG-15")
def test_replaying_a_signing_request_is_refused_with_a_conflict(runtime: Runtime, admin: User) -> None:
    token = session_token(runtime, admin)
    who = actor_of(admin)
    request = runtime.services.signing.request(who, token, "setting_change", _change(runtime, admin), "approved")
    given = Credentials(PASSWORD, admin.username, True)
    runtime.services.signing.sign(who, token, request.challenge.id, request.challenge.content_hash, given)
    with pytest.raises(Conflict):
        runtime.services.signing.sign(who, token, request.challenge.id, request.challenge.content_hash, given)
    assert len(runtime.services.trail.query(AuditFilter(action="sign", object_type="setting_change"))) == 1


@pytest.mark.req("SIG-15")
def test_content_changed_between_display_and_signing_is_refused(runtime: Runtime, admin: User) -> None:
    token = session_token(runtime, admin)
    who = actor_of(admin)
    request = runtime.services.signing.request(who, token, "setting_change", _change(runtime, admin), "approved")
    with pytest.raises(ContentChanged, match="review it again"):
        runtime.services.signing.sign(
            who, token, request.challenge.id, "0" * 64, Credentials(PASSWORD, admin.username, True)
        )
    other = runtime.services.signing.request(who, token, "setting_change", _change(runtime, admin, "4"), "approved")
    with runtime.engine.begin() as conn:
        conn.execute(
            text("UPDATE setting_change SET reason = 'edited behind the dialog' WHERE id = :i"),
            {"i": int(other.challenge.object_id)},
        )
    with pytest.raises(ContentChanged):
        runtime.services.signing.sign(
            who, token, other.challenge.id, other.challenge.content_hash, Credentials(PASSWORD, admin.username, True)
        )
    assert runtime.services.settings.current()["lockout.threshold"] == 5


@pytest.mark.req("SIG-12")
def test_failed_signing_attempts_count_toward_lockout_and_change_nothing(runtime: Runtime, admin: User) -> None:
    token = session_token(runtime, admin)
    change_id = _change(runtime, admin)
    for attempt in range(3):
        with pytest.raises(SignatureRefused, match=f"{5 - attempt - 1} attempts left"):
            sign(runtime, admin, token, "setting_change", change_id, "approved", password=f"Wrong-{attempt}-pass")
    assert runtime.services.accounts.get(admin.id).failed_attempts == 3
    assert len(runtime.services.trail.query(AuditFilter(action="sign_failed", username=admin.username))) == 3
    assert runtime.services.signing.signatures_on("setting_change", change_id) == []
    assert runtime.services.settings.current()["lockout.threshold"] == 5
    for attempt in range(2):
        with pytest.raises(SignatureRefused):
            sign(runtime, admin, token, "setting_change", change_id, "approved", password=f"Wrong-{attempt}-again")
    assert runtime.services.accounts.get(admin.id).locked_at is not None


@pytest.mark.req("SIG-13")
def test_the_first_signature_requires_the_legal_acknowledgement_which_is_stored_once(
    runtime: Runtime, admin: User
) -> None:
    token = session_token(runtime, admin)
    with pytest.raises(SignatureRefused, match="legally binding"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved", acknowledge=False)
    sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved", acknowledge=True)
    sign(runtime, admin, token, "setting_change", _change(runtime, admin, "4"), "approved", acknowledge=False)
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT statement FROM signature_acknowledgement WHERE user_id = :i"), {"i": admin.id}
        ).all()
    assert len(rows) == 1 and "legally binding" in rows[0][0]


@pytest.mark.req("SIG-10")
def test_an_unknown_meaning_is_refused(runtime: Runtime, admin: User) -> None:
    token = session_token(runtime, admin)
    with pytest.raises(InvalidInput, match="Unknown signature meaning"):
        runtime.services.signing.request(actor_of(admin), token, "setting_change", _change(runtime, admin), "okayed")


def test_a_role_the_policy_does_not_allow_cannot_sign(runtime: Runtime, admin: User) -> None:
    quinn = make_user(runtime, Role.QA)
    token = session_token(runtime, quinn)
    with pytest.raises(SignatureRefused, match="needs one of the roles admin"):
        sign(runtime, quinn, token, "setting_change", _change(runtime, admin), "approved")


def test_a_disabled_or_locked_signer_is_refused(runtime: Runtime, admin: User) -> None:
    other = make_user(runtime, Role.ADMIN)
    boss = make_user(runtime, Role.ADMIN)
    token = session_token(runtime, admin)
    runtime.services.accounts.set_active(actor_of(boss), other.id, False, "left")
    with pytest.raises(SignatureRefused, match="user id or password is wrong|disabled"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved", username=other.username)


def test_nothing_but_the_policy_approval_can_be_signed_before_a_policy_is_in_force(runtime: Runtime) -> None:
    admin = make_user(runtime, Role.ADMIN)
    token = session_token(runtime, admin)
    with pytest.raises(SignatureRefused, match="No site signature policy"):
        sign(runtime, admin, token, "setting_change", _change(runtime, admin), "approved")


def test_a_signed_setting_change_is_applied_once_with_its_reason(runtime: Runtime, admin: User) -> None:
    change_id = _change(runtime, admin)
    signature = sign(runtime, admin, session_token(runtime, admin), "setting_change", change_id, "approved")
    assert isinstance(signature, StoredSignature)
    assert runtime.services.settings.current()["lockout.threshold"] == 3
    assert runtime.services.settings.pending(int(change_id)).applied_at == signature.signed_at
    entry = runtime.services.trail.query(AuditFilter(action="sign", object_type="setting_change", object_id=change_id))[
        0
    ].draft
    assert (entry.username, entry.reason) == (admin.username, "CAPA-7 review")


@pytest.mark.req("PWD-08")
def test_a_badge_identifies_the_signer_but_never_signs_without_the_password_and_a_revoked_one_is_refused(
    runtime: Runtime, admin: User
) -> None:
    boss = make_user(runtime, Role.ADMIN)
    first = runtime.services.accounts.issue_badge(actor_of(boss), admin.id, "BADGE-0001", "new starter")
    token = session_token(runtime, admin)
    who = actor_of(admin)

    values = iter(["3", "4", "6", "7"])

    def sign_with_badge(code: str, password: str) -> StoredSignature:
        change = _change(runtime, admin, next(values))
        request = runtime.services.signing.request(who, token, "setting_change", change, "approved")
        return runtime.services.signing.sign(
            who,
            token,
            request.challenge.id,
            request.challenge.content_hash,
            Credentials(password, "", True, badge=code),
        )

    with pytest.raises(SignatureRefused, match="needs the password"):
        sign_with_badge("BADGE-0001", "")
    assert sign_with_badge("BADGE-0001", PASSWORD).signer_id == admin.id
    runtime.services.accounts.issue_badge(actor_of(boss), admin.id, "BADGE-0002", "card damaged: replacement")
    with pytest.raises(SignatureRefused, match="unknown or revoked"):
        sign_with_badge("BADGE-0001", PASSWORD)
    assert sign_with_badge("BADGE-0002", PASSWORD).signer_id == admin.id
    badge_entries = runtime.services.trail.query(AuditFilter(object_type="badge"))
    assert [(e.draft.action, e.draft.object_id) for e in badge_entries][:1] == [("create", str(first.id))]
    assert (
        any(e.draft.field == "revoked_at" or e.draft.action == "update" for e in badge_entries)
        or len(badge_entries) >= 2
    )
    assert all("BADGE-000" not in (e.draft.new_value or "") for e in badge_entries)
    with pytest.raises(Conflict, match="never reused"):
        runtime.services.accounts.issue_badge(actor_of(boss), admin.id, "BADGE-0001", "reissue the old card")
