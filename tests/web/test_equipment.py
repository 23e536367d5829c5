"""Equipment pages: the list with status, one instance with its edit form, signed logbook and uses; bad input is a
clear 4xx that stores nothing, and a logbook entry goes through the one signing dialog and back."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ebr.app.ports import EquipmentUse
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from tests.app.masterdata_support import trail
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock
from tests.integration.db.test_equipment_repositories import started_batch, uow_of
from tests.web.support import post, sign_dialog, sign_in

NEW = EquipmentInstance("BAL-001", "balance", "Floor balance 60 kg", "Dispensary 1", Endpoint("10.0.0.21"))
FORM = {
    "code": "BAL-001",
    "class_id": "balance",
    "description": "Floor balance 60 kg",
    "location": "Dispensary 1",
    "host": "10.0.0.21",
    "port": "502",
    "unit_id": "1",
    "timeout_s": "1.0",
    "retries": "1",
    "in_service": "y",
    "reason": "new balance installed",
}


def text_of(browser: FlaskClient, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def register(runtime: Runtime, instance: EquipmentInstance = NEW) -> int:
    """Registered by a supervisor through the service; returns its version."""
    supervisor = make_user(runtime, Role.SUPERVISOR)
    return runtime.services.equipment.register(actor_of(supervisor), instance, "installed").version


def signed_entry(runtime: Runtime, kind: str, valid_until: date, signer_role: Role) -> None:
    signer = make_user(runtime, signer_role)
    entry_id = runtime.services.equipment.request_log_entry(
        actor_of(signer), "BAL-001", kind, "certificate 4711", valid_until, "periodic"
    )
    sign(runtime, signer, session_token(runtime, signer), "equipment_log", str(entry_id), kind)


def test_the_list_shows_each_instance_with_its_status_and_an_overdue_calibration_in_red(
    app: Flask, runtime: Runtime, clock: FakeClock
) -> None:
    effective_policy(runtime)
    register(runtime)
    register(runtime, EquipmentInstance("TP-1", "temperature_probe", in_service=False))
    signed_entry(runtime, "calibrated", date(2026, 11, 26), Role.QA)
    clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    browser, _ = sign_in(app, runtime, Role.OPERATOR)

    page = text_of(browser, "/equipment/")

    assert '<span class="error">calibration overdue since 2026-11-26</span>' in page
    assert '<span class="error">not clean</span>' in page
    assert '<span class="error">out of service</span>' in page
    assert "10.0.0.21:502" in page
    filtered = text_of(browser, "/equipment/?class=temperature_probe")
    assert "TP-1" in filtered and "BAL-001" not in filtered
    assert "register-equipment" not in page  # an operator may look, not register


def test_a_supervisor_registers_an_instance_through_the_form(app: Flask, runtime: Runtime) -> None:
    browser, supervisor = sign_in(app, runtime, Role.SUPERVISOR)

    response = post(browser, "/equipment/", FORM, token_from="/equipment/")

    assert response.status_code == 302 and response.location.endswith("/equipment/BAL-001")
    assert runtime.services.equipment.get("BAL-001").instance == NEW
    [created] = trail(runtime, "equipment")
    assert (created.draft.username, created.draft.reason) == (supervisor.username, "new balance installed")
    page = text_of(browser, "/equipment/BAL-001")
    assert "Equipment <code>BAL-001</code>" in page
    assert "no: BAL-001 is not clean: record its cleaning first." in page


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"port": "abc"}, 422, "port"),
        ({"port": "70000"}, 422, "Device endpoint: port: 1 to 65535"),
        ({"unit_id": "300"}, 422, "unit id: 0 to 255"),
        ({"host": "bad host!"}, 422, "host: a DNS name or an IP address"),
        ({"host": "", "port": "502"}, 422, "need a host"),
        ({"reason": ""}, 422, "reason"),
        ({"class_id": "centrifuge"}, 422, "class_id"),
        ({"code": "-BAL"}, 422, "Equipment id"),
        ({"in_service": "", "clean": "y"}, 302, ""),  # a smuggled status field is simply not a field of the form
    ],
)
def test_bad_registration_input_is_a_clear_4xx_and_stores_nothing(
    app: Flask, runtime: Runtime, change: dict[str, str], status: int, message: str
) -> None:
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)

    response = post(browser, "/equipment/", {**FORM, **change}, token_from="/equipment/")

    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))
    if status != 302:
        assert runtime.services.equipment.list() == []
        assert trail(runtime, "equipment") == []
    else:
        assert not runtime.services.equipment.get("BAL-001").instance.clean


def test_an_unknown_equipment_id_is_404(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.OPERATOR)

    response = browser.get("/equipment/BAL-404")

    assert response.status_code == 404
    assert "BAL-404" in response.get_data(as_text=True)


def test_an_id_with_a_slash_has_its_own_page(app: Flask, runtime: Runtime) -> None:
    register(runtime, replace(NEW, code="BAL/01"))
    browser, _ = sign_in(app, runtime, Role.OPERATOR)

    assert 'href="/equipment/BAL~01"' in text_of(browser, "/equipment/")
    assert "Equipment <code>BAL/01</code>" in text_of(browser, "/equipment/BAL~01")


def _edit(at_version: int, **change: str) -> dict[str, str]:
    base = {k: v for k, v in FORM.items() if k not in ("code", "class_id")}
    return {**base, "version": str(at_version), **change}


def test_an_edit_changes_the_endpoint_with_its_reason_and_a_stale_edit_is_409(app: Flask, runtime: Runtime) -> None:
    version = register(runtime)
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)

    changed = post(
        browser, "/equipment/BAL-001", _edit(version, host="10.0.0.99", reason="PLC replaced"), "/equipment/"
    )
    stale = post(browser, "/equipment/BAL-001", _edit(version, location="Elsewhere", reason="moved"), "/equipment/")

    assert changed.status_code == 302
    assert stale.status_code == 409
    assert "changed meanwhile" in html.unescape(stale.get_data(as_text=True))
    stored = runtime.services.equipment.get("BAL-001")
    assert (stored.instance.endpoint, stored.instance.location) == (
        Endpoint("10.0.0.99", 502, 1, 1.0, 1),
        "Dispensary 1",
    )
    [host] = [e.draft for e in trail(runtime, "equipment") if e.draft.field == "host"]
    assert (host.old_value, host.new_value, host.reason) == ("10.0.0.21", "10.0.0.99", "PLC replaced")


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"reason": ""}, 422, "reason"),
        ({"retries": "9"}, 422, "retries: 0 to 5"),
        ({"version": ""}, 422, "version"),
        ({}, 422, "Nothing to change"),
    ],
)
def test_a_bad_edit_is_a_clear_4xx_and_changes_nothing(
    app: Flask, runtime: Runtime, change: dict[str, str], status: int, message: str
) -> None:
    version = register(runtime)
    browser, _ = sign_in(app, runtime, Role.ADMIN)

    response = post(browser, "/equipment/BAL-001", _edit(version, **change), "/equipment/")

    assert response.status_code == status
    assert message in html.unescape(response.get_data(as_text=True))
    assert runtime.services.equipment.get("BAL-001").version == version


def test_editing_an_unknown_instance_is_404(app: Flask, runtime: Runtime) -> None:
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)

    assert post(browser, "/equipment/BAL-404", _edit(1, location="x"), "/equipment/").status_code == 404


def _record(browser: FlaskClient, kind: str, valid_until: str, reason: str = "after batch B-1") -> str:
    data = {"kind": kind, "detail": "SOP-CL-01, full clean", "valid_until": valid_until, "reason": reason}
    response = post(browser, "/equipment/BAL-001/logbook", data, token_from="/equipment/BAL-001")
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))
    return str(response.location)


def test_a_supervisor_records_a_cleaning_and_signs_it_in_the_dialog_which_returns_to_the_page(
    app: Flask, runtime: Runtime
) -> None:
    effective_policy(runtime)
    register(runtime)
    browser, supervisor = sign_in(app, runtime, Role.SUPERVISOR)

    dialog = _record(browser, "cleaned", "2026-11-26T09:00")
    assert "/sign/" in dialog and "next=/equipment/BAL-001" in dialog
    assert "Equipment cleaned by" in text_of(browser, dialog)
    signed = sign_dialog(browser, dialog, supervisor.username)

    assert signed.status_code == 302 and signed.location == "/equipment/BAL-001"
    page = text_of(browser, "/equipment/BAL-001")
    manifestation = f"Equipment cleaned by: {supervisor.full_name} ({supervisor.username}), 2026-11-25T09:00:00Z"
    assert manifestation in page
    assert "cleaning valid until 2026-11-26T09:00:00Z" in page
    assert runtime.services.equipment.get("BAL-001").instance.clean_until == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_a_calibration_refused_to_an_operator_stays_pending_until_qa_signs_it_from_the_page(
    app: Flask, runtime: Runtime
) -> None:
    effective_policy(runtime)
    register(runtime)
    browser, operator = sign_in(app, runtime, Role.OPERATOR)

    dialog = _record(browser, "calibrated", "2027-05-31", reason="annual calibration")
    refused = sign_dialog(browser, dialog, operator.username)

    assert refused.status_code == 403
    assert "needs one of the roles qa, supervisor" in html.unescape(refused.get_data(as_text=True))
    [line] = runtime.services.equipment.logbook("BAL-001")
    assert line.entry.status == "pending"
    qa_browser, qa = sign_in(app, runtime, Role.QA)
    assert f"sign-entry-{line.entry.id}" in text_of(qa_browser, "/equipment/BAL-001")
    opened = post(qa_browser, f"/equipment/BAL-001/logbook/{line.entry.id}/sign", {}, token_from="/equipment/BAL-001")
    assert opened.status_code == 302 and "/sign/" in opened.location
    assert sign_dialog(qa_browser, opened.location, qa.username).status_code == 302
    assert runtime.services.equipment.get("BAL-001").instance.calibration_due == date(2027, 5, 31)
    again = post(qa_browser, f"/equipment/BAL-001/logbook/{line.entry.id}/sign", {}, token_from="/equipment/BAL-001")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "cleaned", "valid_until": "tomorrow"}, "is not a date"),
        ({"kind": "cleaned", "valid_until": "2026-11-24T09:00"}, "in the future"),
        ({"kind": "calibrated", "valid_until": ""}, "needs the date"),
        ({"kind": "repaired", "valid_until": ""}, "kind"),
        ({"kind": "cleaned", "valid_until": "2026-11-26T09:00", "reason": ""}, "reason"),
    ],
)
def test_a_bad_logbook_entry_is_a_clear_422_and_nothing_is_stored(
    app: Flask, runtime: Runtime, data: dict[str, str], message: str
) -> None:
    effective_policy(runtime)
    register(runtime)
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    body = {"detail": "SOP-CL-01", "reason": "after batch", **data}

    response = post(browser, "/equipment/BAL-001/logbook", body, token_from="/equipment/BAL-001")

    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert runtime.services.equipment.logbook("BAL-001") == []


def test_marking_soiled_from_the_page_takes_effect_at_once(app: Flask, runtime: Runtime) -> None:
    effective_policy(runtime)
    register(runtime)
    browser, _ = sign_in(app, runtime, Role.OPERATOR)

    response = post(browser, "/equipment/BAL-001/logbook", {"kind": "soiled", "reason": "spill"}, "/equipment/BAL-001")

    assert response.status_code == 302 and response.location == "/equipment/BAL-001"
    [line] = runtime.services.equipment.logbook("BAL-001")
    assert (line.entry.kind, line.entry.status) == ("soiled", "applied")


def test_the_uses_list_links_each_batch_and_names_step_person_and_terminal(app: Flask, runtime: Runtime) -> None:
    register(runtime)
    batch, step, operator_id = started_batch(runtime)
    with uow_of(runtime) as uow:
        at = runtime.services.clock.now()
        uow.equipment_uses.add(
            EquipmentUse(0, "BAL-001", "balance", batch, step, "", at, operator_id, "kiosk-7", "in service, clean")
        )
        uow.commit()
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)

    page = text_of(browser, "/equipment/BAL-001")

    operator = runtime.services.accounts.get(operator_id)
    assert '<a href="/batches/B-EQ-1">B-EQ-1</a>' in page
    assert f"{operator.full_name} ({operator.username})" in page and "kiosk-7" in page


def test_each_role_sees_only_the_forms_it_may_use(app: Flask, runtime: Runtime) -> None:
    register(runtime)
    expected = {
        Role.ADMIN: ("save-equipment",),
        Role.OPERATOR: ("record-cleaned",),
        Role.SUPERVISOR: ("save-equipment", "record-cleaned"),
        Role.ENGINEER: (),
    }
    for role, shown in expected.items():
        browser, _ = sign_in(app, runtime, role)
        page = text_of(browser, "/equipment/BAL-001")
        for form in ("save-equipment", "record-cleaned"):
            assert (f'id="{form}"' in page) == (form in shown), (role, form)
