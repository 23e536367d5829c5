"""ACC-02/ACC-03/AUD-10: authority checks on the server, role by role and route by route."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import ROLE_PERMISSIONS, Permission, Role
from ebr.web.routes import access_of
from tests.factories import make_user
from tests.fakes import FakeClock
from tests.web.support import entries, entries_since, last_seq, post, route_calls, sign_in

# The reviewed permission of every page and API endpoint. A route whose declaration drifts from this
# table (e.g. admin.settings weakened to SELF) fails here even though the matrix below would follow it.
EXPECTED_PERMISSIONS: dict[str, Permission] = {
    "auth.logout": Permission.SELF,
    "auth.change_password": Permission.SELF,
    "main.home": Permission.SELF,
    "main.about": Permission.SYSTEM_READ,
    "admin.users": Permission.USERS_MANAGE,
    "admin.new_user": Permission.USERS_MANAGE,
    "admin.user": Permission.USERS_MANAGE,
    "admin.set_roles": Permission.USERS_MANAGE,
    "admin.account_action": Permission.USERS_MANAGE,
    "admin.access_review": Permission.USERS_MANAGE,
    "admin.api_clients": Permission.USERS_MANAGE,
    "admin.revoke_api_client": Permission.USERS_MANAGE,
    "admin.settings": Permission.SETTINGS_MANAGE,
    "admin.settings_export": Permission.SETTINGS_MANAGE,
    "admin.settings_diff": Permission.SETTINGS_MANAGE,
    "trail.index": Permission.AUDIT_READ,
    "trail.export": Permission.AUDIT_EXPORT,
    "api.version": Permission.SYSTEM_READ,
    "erp.orders": Permission.ERP_INBOUND,
    "erp.materials": Permission.ERP_INBOUND,
    "erp.order": Permission.ERP_INBOUND,
    "erp_postings.index": Permission.ERP_MONITOR,
    "erp_postings.posting": Permission.ERP_MONITOR,
    "erp_postings.payload": Permission.ERP_MONITOR,
    "erp_postings.replay": Permission.ERP_REPLAY,
    "admin.issue_badge": Permission.USERS_MANAGE,
    "admin.revoke_badge": Permission.USERS_MANAGE,
    "signing.dialog": Permission.SELF,  # the service then checks the signer's role against the site policy
    "signing.policies": Permission.POLICY_MANAGE,
    "signing.import_policy": Permission.POLICY_MANAGE,
    "signing.approve_policy": Permission.POLICY_MANAGE,
    "procedures.index": Permission.PROCEDURE_VIEW,
    "procedures.version": Permission.PROCEDURE_VIEW,
    "procedures.diagram": Permission.PROCEDURE_VIEW,
    "procedures.compare": Permission.PROCEDURE_VIEW,
    "procedures.compare_json": Permission.PROCEDURE_VIEW,
    "procedures.import_library": Permission.PROCEDURE_AUTHOR,
    "procedures.upload": Permission.PROCEDURE_AUTHOR,
    "procedures.revise": Permission.PROCEDURE_AUTHOR,
    "procedures.dry_run": Permission.PROCEDURE_AUTHOR,
    "procedures.submit": Permission.PROCEDURE_AUTHOR,
    "procedures.approve": Permission.PROCEDURE_APPROVE,
    "procedures.make_effective": Permission.PROCEDURE_APPROVE,
    "procedures.retire": Permission.PROCEDURE_APPROVE,
    "procedures.return_to_author": Permission.PROCEDURE_APPROVE,
    "materials.index": Permission.BATCH_VIEW,
    "materials.identify": Permission.BATCH_VIEW,
    "materials.save_material": Permission.MASTERDATA_MANAGE,
    "materials.save_lot": Permission.MASTERDATA_MANAGE,
    "materials.save_container": Permission.MASTERDATA_MANAGE,
    "orders.index": Permission.BATCH_VIEW,
    "orders.create": Permission.ORDER_MANAGE,
    "orders.release": Permission.ORDER_MANAGE,
    "orders.cancel": Permission.ORDER_MANAGE,
    "incidents.index": Permission.INCIDENT_ACKNOWLEDGE,
    "incidents.acknowledge": Permission.INCIDENT_ACKNOWLEDGE,
    "training.index": Permission.TRAINING_MANAGE,
    "training.record": Permission.TRAINING_MANAGE,
    "terminals.index": Permission.TERMINAL_MANAGE,
    "terminals.register": Permission.TERMINAL_MANAGE,
    "terminals.deactivate": Permission.TERMINAL_MANAGE,
    "equipment.index": Permission.EQUIPMENT_VIEW,
    "equipment.detail": Permission.EQUIPMENT_VIEW,
    "equipment.register": Permission.EQUIPMENT_MANAGE,
    "equipment.update": Permission.EQUIPMENT_MANAGE,
    "equipment.record": Permission.EQUIPMENT_LOG,
    "equipment.sign_entry": Permission.EQUIPMENT_LOG,  # opens the dialog; the site policy then checks the signer
    "batches.worklist": Permission.BATCH_VIEW,
    "batches.start": Permission.BATCH_EXECUTE,
    "batches.batch": Permission.BATCH_VIEW,
    "batches.diagram": Permission.BATCH_VIEW,
    "batches.request_action": Permission.BATCH_HOLD,
    "batches.request_step_action": Permission.BATCH_HOLD,
    "batches.sign_action": Permission.BATCH_VIEW,  # opens the dialog; the site policy then checks the signer
    "batches.report_deviation": Permission.BATCH_EXECUTE,
    "batches.disposition": Permission.BATCH_VIEW,  # as the application; the policy decides who signs, by severity
    "batches.close_deviation": Permission.BATCH_VIEW,
    "batches.step": Permission.BATCH_VIEW,
    "batches.enter_value": Permission.BATCH_EXECUTE,
    "batches.perform": Permission.BATCH_EXECUTE,
    "batches.verify": Permission.BATCH_VIEW,  # the second person signs at the performer's terminal
    "batches.correct": Permission.BATCH_EXECUTE,
    "batches.resign": Permission.BATCH_VIEW,
    "batches.issue_paper_form": Permission.BATCH_EXECUTE,
    "batches.paper_form": Permission.BATCH_VIEW,  # as verifying: the application checks the meaning's own permission
    "batches.api_enter": Permission.BATCH_EXECUTE,
    "batches.api_calculated": Permission.BATCH_VIEW,
    "batches.check_in": Permission.BATCH_EXECUTE,
    "batches.capture": Permission.BATCH_EXECUTE,
    "batches.api_capture": Permission.BATCH_EXECUTE,
    "batches.label": Permission.BATCH_VIEW,
    "batches.sample_label": Permission.BATCH_VIEW,
    "batches.record_result": Permission.BATCH_REVIEW,  # QA links a laboratory result; QA signs it
    "batches.attach": Permission.BATCH_EXECUTE,
    "batches.attachment": Permission.BATCH_VIEW,
    "batches.void_value": Permission.BATCH_EXECUTE,
    "genealogy.batch": Permission.BATCH_VIEW,
    "genealogy.lot": Permission.BATCH_VIEW,
    "genealogy.api_batch": Permission.BATCH_VIEW,
    "genealogy.api_lot": Permission.BATCH_VIEW,
    "review.queue": Permission.BATCH_REVIEW,
    "review.batch": Permission.BATCH_REVIEW,
    "review.submit": Permission.BATCH_HOLD,  # a supervisor or QA hands the completed record to review
    "review.acknowledge": Permission.BATCH_REVIEW,
    "review.sign_trail": Permission.BATCH_REVIEW,
    "review.decide": Permission.BATCH_RELEASE,
    "review.sign_decision": Permission.BATCH_RELEASE,
    "review.add_addendum": Permission.BATCH_RELEASE,
    "review.sign_addendum": Permission.BATCH_RELEASE,
    "documents.document": Permission.BATCH_VIEW,  # every download is audited with the SHA-256 handed out
    "documents.record_pdf": Permission.BATCH_VIEW,
    "documents.record_json": Permission.BATCH_VIEW,
    "documents.record_xml": Permission.BATCH_VIEW,
}
# Permissions that enter, change or sign batch data: never the administrator's (ACC-03).
BATCH_DATA_PERMISSIONS = frozenset(
    {
        Permission.BATCH_EXECUTE,
        Permission.BATCH_VERIFY,
        Permission.BATCH_HOLD,
        Permission.BATCH_REVIEW,
        Permission.BATCH_RELEASE,
        Permission.DEVIATION_DISPOSITION,
        Permission.PROCEDURE_AUTHOR,
        Permission.PROCEDURE_APPROVE,
        Permission.AUDIT_EXPORT,
        Permission.MASTERDATA_MANAGE,
        Permission.ORDER_MANAGE,
        Permission.EQUIPMENT_LOG,
    }
)


@pytest.mark.req("ACC-02")
def test_each_protected_endpoint_declares_the_reviewed_permission(app: Flask) -> None:
    declared = {}
    for rule in app.url_map.iter_rules():
        access = access_of(app.view_functions[rule.endpoint])
        assert access is not None
        if access.kind != "public":
            declared[rule.endpoint] = access.permission
    assert declared == EXPECTED_PERMISSIONS


@pytest.mark.req("ACC-02")
@pytest.mark.req("AUD-10")
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_a_role_gets_403_exactly_on_the_routes_its_permissions_do_not_cover(
    app: Flask, runtime: Runtime, role: Role
) -> None:
    target = make_user(runtime, Role.OPERATOR)  # someone else's account for the /users/<id> routes
    browser, user = sign_in(app, runtime, role)
    granted = ROLE_PERMISSIONS[role]
    calls = sorted(route_calls(app, target.id), key=lambda c: c.endpoint == "auth.logout")  # log out last
    assert any(c.permission not in granted for c in calls) or role is Role.ADMIN
    mismatches, denied = [], []
    for call in calls:
        # POSTs are hand-crafted, with a valid CSRF token of this very session.
        response = browser.get(call.path) if call.method == "GET" else post(browser, call.path, {})
        allowed = call.permission in granted
        if allowed == (response.status_code == 403):
            mismatches.append(f"{call} needs {call.permission}: got {response.status_code}")
        if response.status_code >= 500:
            mismatches.append(f"{call}: server error {response.status_code}")
        if not allowed:
            denied.append(f"{call.method} {call.path}")
    assert mismatches == []
    assert runtime.services.accounts.get(target.id) == target, "a refused or incomplete request changed the target"
    recorded = [e.draft.object_id for e in entries(runtime, action="permission_denied", username=user.username)]
    assert sorted(recorded) == sorted(denied)


@pytest.mark.req("AUD-10")
def test_a_denied_request_is_audited_with_who_when_and_what(app: Flask, runtime: Runtime, clock: FakeClock) -> None:
    browser, operator = sign_in(app, runtime, Role.OPERATOR)
    clock.advance(minutes=2)
    before = last_seq(runtime)
    assert browser.get("/admin/settings").status_code == 403
    new = entries_since(runtime, before)
    assert [(e.draft.action, e.draft.object_type, e.draft.object_id) for e in new] == [
        ("permission_denied", "endpoint", "GET /admin/settings")
    ]
    draft = new[0].draft
    assert (draft.user_id, draft.username, draft.user_name) == (operator.id, operator.username, operator.full_name)
    assert draft.at == clock.now()


@pytest.mark.req("ACC-03")
def test_the_administrator_role_holds_no_permission_over_batch_data() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] & BATCH_DATA_PERMISSIONS == frozenset()


@pytest.mark.req("ACC-03")
def test_an_admin_posting_to_a_qa_only_action_gets_403(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    before = last_seq(runtime)
    response = post(browser, "/audit/export", {"format": "csv"})
    assert response.status_code == 403
    assert "audit.export" in response.get_data(as_text=True)
    assert [e.draft.action for e in entries_since(runtime, before)] == ["permission_denied"]  # no export entry


@pytest.mark.req("ACC-03")
def test_a_qa_user_may_do_the_export_the_admin_was_refused(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.QA)
    response = post(browser, "/audit/export", {"format": "csv"}, token_from="/audit/")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"


@pytest.mark.req("ACC-03")
def test_granting_admin_with_a_batch_role_to_one_user_is_refused_and_changes_nothing(
    app: Flask, runtime: Runtime
) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    for other in (Role.QA, Role.OPERATOR, Role.SUPERVISOR, Role.ENGINEER):
        target = make_user(runtime, other)
        before = last_seq(runtime)
        response = post(
            browser,
            f"/admin/users/{target.id}/roles",
            {"roles": ["admin", str(other)], "reason": "needs both for the audit"},
        )
        assert response.status_code == 422, other
        assert "Segregation of duties" in response.get_data(as_text=True)
        assert runtime.services.accounts.get(target.id).roles == frozenset({other})
        assert entries_since(runtime, before) == []


@pytest.mark.req("ACC-03")
def test_creating_a_user_with_admin_and_qa_is_refused(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    users_before = runtime.services.accounts.list_users()
    response = post(
        browser,
        "/admin/users/new",
        {
            "username": "both",
            "full_name": "Both Hats",
            "roles": ["admin", "qa"],
            "temporary_password": "Temp-Pass-123",
            "reason": "new starter",
        },
    )
    assert response.status_code == 422
    assert runtime.services.accounts.list_users() == users_before


def test_an_admin_cannot_change_their_own_roles(app: Flask, runtime: Runtime) -> None:
    browser, admin = sign_in(app, runtime, Role.ADMIN)
    response = post(browser, f"/admin/users/{admin.id}/roles", {"roles": ["supervisor"], "reason": "promote me"})
    assert response.status_code == 403
    assert runtime.services.accounts.get(admin.id).roles == frozenset({Role.ADMIN})
