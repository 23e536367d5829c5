"""Equipment instances as audited master data, and their logbook whose entries change the instance only when signed
by a role the site policy allows (MISSION.md: equipment; 21 CFR 211.67, 211.68, 211.182)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ebr.app.ports import EquipmentUse
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role, User
from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance
from ebr.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ebr.domain.signatures import SignatureRefused
from tests.app.masterdata_support import make_procedure_effective, trail
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock
from tests.integration.db.test_equipment_repositories import started_batch, uow_of

NEW = EquipmentInstance("BAL-001", "balance", "Floor balance 60 kg", "Dispensary 1", Endpoint("10.0.0.21"))
TOMORROW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # the fake clock starts on 2026-11-25 09:00 UTC


@pytest.fixture
def supervisor(runtime: Runtime) -> User:
    return make_user(runtime, Role.SUPERVISOR)


@pytest.fixture
def registered(runtime: Runtime, supervisor: User) -> int:
    """BAL-001 registered by a supervisor; returns its version."""
    return runtime.services.equipment.register(actor_of(supervisor), NEW, "new balance installed").version


def test_registering_stores_the_instance_not_clean_and_audits_it_with_the_reason(
    runtime: Runtime, supervisor: User
) -> None:
    stored = runtime.services.equipment.register(actor_of(supervisor), NEW, "new balance installed")

    assert (stored.instance, stored.version) == (NEW, 1)
    assert not stored.instance.clean and stored.instance.calibration_due is None
    assert runtime.services.equipment.get("BAL-001") == stored
    [created] = trail(runtime, "equipment", str(stored.id))
    assert (created.draft.action, created.draft.username, created.draft.reason) == (
        "create",
        supervisor.username,
        "new balance installed",
    )
    values = json.loads(created.draft.new_value or "{}")
    assert (values["code"], values["host"], values["port"], values["in_service"]) == (
        "BAL-001",
        "10.0.0.21",
        "502",
        "true",
    )


def test_a_class_the_library_does_not_define_is_refused_naming_the_ones_it_does(
    runtime: Runtime, supervisor: User
) -> None:
    with pytest.raises(InvalidInput, match=r"Unknown equipment class 'centrifuge'.*balance"):
        runtime.services.equipment.register(actor_of(supervisor), replace(NEW, class_id="centrifuge"), "new one")
    with pytest.raises(InvalidInput, match="library class id"):
        runtime.services.equipment.register(actor_of(supervisor), replace(NEW, class_id="Balance!"), "new one")
    assert runtime.services.equipment.list() == []
    assert "balance" in runtime.services.equipment.classes()


@pytest.mark.parametrize(
    "status",
    [
        {"clean": True},
        {"clean_until": TOMORROW},
        {"calibration_due": date(2027, 1, 1)},
        {"qualified_until": date(2027, 1, 1)},
    ],
)
def test_registration_cannot_set_cleaning_calibration_or_qualification(
    runtime: Runtime, supervisor: User, status: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput, match="recorded in the instance's logbook"):
        claimed = replace(NEW, **status)  # type: ignore[arg-type]
        runtime.services.equipment.register(actor_of(supervisor), claimed, "new balance")
    assert runtime.services.equipment.list() == []


def test_an_equipment_id_already_registered_is_a_conflict(runtime: Runtime, supervisor: User, registered: int) -> None:
    with pytest.raises(Conflict, match="never reused"):
        runtime.services.equipment.register(actor_of(supervisor), replace(NEW, location="elsewhere"), "again")
    assert runtime.services.equipment.get("BAL-001").instance == NEW


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        (Endpoint("bad host!"), "host"),
        (Endpoint("-plc.example"), "host"),
        (Endpoint("10.0.0.21", port=0), "port"),
        (Endpoint("10.0.0.21", port=70000), "port"),
        (Endpoint("10.0.0.21", unit_id=256), "unit id"),
        (Endpoint("10.0.0.21", unit_id=-1), "unit id"),
        (Endpoint("10.0.0.21", timeout_s=0), "timeout"),
        (Endpoint("10.0.0.21", timeout_s=float("nan")), "timeout"),
        (Endpoint("10.0.0.21", timeout_s=31), "timeout"),
        (Endpoint("10.0.0.21", retries=6), "retries"),
    ],
)
def test_an_endpoint_that_cannot_be_dialled_is_refused_naming_the_field(
    runtime: Runtime, supervisor: User, endpoint: Endpoint, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=f"Device endpoint: {problem}"):
        runtime.services.equipment.register(actor_of(supervisor), replace(NEW, endpoint=endpoint), "new balance")
    assert runtime.services.equipment.list() == []


def test_host_names_and_ip_addresses_of_both_families_are_accepted(runtime: Runtime, supervisor: User) -> None:
    for code, host in (("P-1", "plc-7.plant.example"), ("P-2", "fd00::21"), ("P-3", "balance1")):
        instance = EquipmentInstance(code, "balance", endpoint=Endpoint(host, 502, 0, 30, 0))
        runtime.services.equipment.register(actor_of(supervisor), instance, "new device")
    assert [s.instance.code for s in runtime.services.equipment.list("balance")] == ["P-1", "P-2", "P-3"]


def test_registering_or_changing_needs_the_equipment_permission_and_a_reason(
    runtime: Runtime, supervisor: User, registered: int
) -> None:
    for role in (Role.OPERATOR, Role.QA, Role.ENGINEER):
        who = actor_of(make_user(runtime, role))
        with pytest.raises(PermissionDenied, match="equipment.manage"):
            runtime.services.equipment.register(who, replace(NEW, code="BAL-002"), "new balance")
        with pytest.raises(PermissionDenied, match="equipment.manage"):
            runtime.services.equipment.update(who, "BAL-001", replace(NEW, location="x"), registered, "moved")
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.equipment.register(actor_of(supervisor), replace(NEW, code="BAL-002"), " ")
    admin = actor_of(make_user(runtime, Role.ADMIN))
    runtime.services.equipment.update(admin, "BAL-001", replace(NEW, location="Dispensary 2"), registered, "moved")
    assert [s.instance.code for s in runtime.services.equipment.list()] == ["BAL-001"]


def test_a_change_is_audited_field_by_field_with_its_reason_and_bumps_the_version(
    runtime: Runtime, supervisor: User, registered: int, clock: FakeClock
) -> None:
    clock.advance(minutes=3)
    wanted = replace(NEW, endpoint=Endpoint("10.0.0.99", 502, 4), in_service=False)

    updated = runtime.services.equipment.update(actor_of(supervisor), "BAL-001", wanted, registered, "PLC replaced")

    assert (updated.instance, updated.version, updated.updated_at) == (wanted, registered + 1, clock.now())
    changes = [e.draft for e in trail(runtime, "equipment", str(updated.id)) if e.draft.action == "update"]
    assert sorted((d.field, d.old_value, d.new_value) for d in changes) == [
        ("host", "10.0.0.21", "10.0.0.99"),
        ("in_service", "true", "false"),
        ("unit_id", "1", "4"),
    ]
    assert {(d.reason, d.username) for d in changes} == {("PLC replaced", supervisor.username)}


def test_a_change_made_on_a_stale_version_is_a_conflict_and_changes_nothing(
    runtime: Runtime, supervisor: User, registered: int
) -> None:
    who = actor_of(supervisor)
    runtime.services.equipment.update(who, "BAL-001", replace(NEW, location="Dispensary 2"), registered, "moved")
    before = trail(runtime, "equipment")

    with pytest.raises(Conflict, match="changed meanwhile"):
        runtime.services.equipment.update(who, "BAL-001", replace(NEW, description="other"), registered, "renamed")

    assert runtime.services.equipment.get("BAL-001").instance.location == "Dispensary 2"
    assert trail(runtime, "equipment") == before


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"clean": True}, "signed logbook entries"),
        ({"calibration_due": date(2030, 1, 1)}, "signed logbook entries"),
        ({"class_id": "temperature_probe"}, "class never changes"),
        ({"code": "BAL-002"}, "id never changes"),
        ({}, "Nothing to change"),
    ],
)
def test_an_edit_may_not_touch_status_class_or_id_and_must_change_something(
    runtime: Runtime, supervisor: User, registered: int, change: dict[str, object], problem: str
) -> None:
    wanted = replace(NEW, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=problem):
        runtime.services.equipment.update(actor_of(supervisor), "BAL-001", wanted, registered, "edit")
    assert runtime.services.equipment.get("BAL-001").version == registered


def test_changing_an_endpoint_leaves_every_procedure_version_as_approved(
    runtime: Runtime, supervisor: User, registered: int
) -> None:
    version_id = make_procedure_effective(runtime, "QC-SAMPLE")
    before = runtime.services.procedures.view(version_id).version
    procedure_entries = trail(runtime, "procedure_version")

    moved = replace(NEW, endpoint=Endpoint("balance-7.plant.example", 5020, 9))
    runtime.services.equipment.update(actor_of(supervisor), "BAL-001", moved, registered, "new gateway")

    assert runtime.services.procedures.view(version_id).version == before  # still effective, same content hash
    assert trail(runtime, "procedure_version") == procedure_entries


def _person(runtime: Runtime, role: Role) -> tuple[User, str]:
    user = make_user(runtime, role)
    return user, session_token(runtime, user)


def test_a_cleaning_changes_the_instance_only_when_signed_and_shows_its_signature(
    runtime: Runtime, registered: int
) -> None:
    effective_policy(runtime)
    operator, token = _person(runtime, Role.OPERATOR)
    entry_id = runtime.services.equipment.request_log_entry(
        actor_of(operator), "BAL-001", "cleaned", "SOP-CL-01, full clean", TOMORROW, "after batch B-1"
    )

    assert not runtime.services.equipment.get("BAL-001").instance.clean
    [pending] = runtime.services.equipment.logbook("BAL-001")
    assert (pending.entry.status, pending.entry.valid_until, pending.signature) == (
        "pending",
        "2026-11-26T09:00:00Z",
        None,
    )

    sign(runtime, operator, token, "equipment_log", str(entry_id), "cleaned")

    stored = runtime.services.equipment.get("BAL-001")
    assert (stored.instance.clean, stored.instance.clean_until, stored.version) == (True, TOMORROW, registered + 1)
    [line] = runtime.services.equipment.logbook("BAL-001")
    assert line.entry.status == "applied" and line.signature is not None
    assert (line.signature.meaning_text, line.signature.signer_username) == ("Equipment cleaned by", operator.username)
    assert line.requested_by == f"{operator.full_name} ({operator.username})"
    [clean] = [e.draft for e in trail(runtime, "equipment") if e.draft.field == "clean"]
    assert (clean.old_value, clean.new_value, clean.username) == ("false", "true", operator.username)
    assert runtime.services.signing.verify() == []  # applying the entry did not change what was signed


@pytest.mark.parametrize(
    ("kind", "refused", "allowed", "field"),
    [
        ("calibrated", Role.OPERATOR, Role.QA, "calibration_due"),
        ("qualified", Role.OPERATOR, Role.SUPERVISOR, "qualified_until"),
        ("cleaned", Role.QA, Role.SUPERVISOR, "clean_until"),
    ],
)
def test_a_logbook_signature_by_a_role_the_policy_does_not_allow_is_refused_and_changes_nothing(
    runtime: Runtime, registered: int, kind: str, refused: Role, allowed: Role, field: str
) -> None:
    effective_policy(runtime)
    requester, _ = _person(runtime, Role.SUPERVISOR)
    valid_until = TOMORROW if kind == "cleaned" else date(2027, 5, 31)
    entry_id = runtime.services.equipment.request_log_entry(
        actor_of(requester), "BAL-001", kind, "certificate 4711", valid_until, "periodic"
    )
    wrong, wrong_token = _person(runtime, refused)

    with pytest.raises(SignatureRefused, match="needs one of the roles"):
        sign(runtime, wrong, wrong_token, "equipment_log", str(entry_id), kind)
    assert getattr(runtime.services.equipment.get("BAL-001").instance, field) is None

    right, right_token = _person(runtime, allowed)
    sign(runtime, right, right_token, "equipment_log", str(entry_id), kind)
    assert getattr(runtime.services.equipment.get("BAL-001").instance, field) == valid_until


def test_an_entry_is_applied_only_by_a_signature_of_its_own_meaning(runtime: Runtime, registered: int) -> None:
    effective_policy(runtime)
    supervisor, token = _person(runtime, Role.SUPERVISOR)
    entry_id = runtime.services.equipment.request_log_entry(
        actor_of(supervisor), "BAL-001", "cleaned", "SOP-CL-01", TOMORROW, "after batch"
    )
    with pytest.raises(Conflict, match="'cleaned' signature only"):
        sign(runtime, supervisor, token, "equipment_log", str(entry_id), "calibrated")
    assert runtime.services.equipment.get("BAL-001").instance.calibration_due is None
    assert runtime.services.signing.signatures_on("equipment_log", str(entry_id)) == []


def test_marking_soiled_takes_effect_at_once_unsigned_but_audited(runtime: Runtime, registered: int) -> None:
    effective_policy(runtime)
    operator, token = _person(runtime, Role.OPERATOR)
    cleaning = runtime.services.equipment.request_log_entry(
        actor_of(operator), "BAL-001", "cleaned", "SOP-CL-01", TOMORROW, "after batch"
    )
    sign(runtime, operator, token, "equipment_log", str(cleaning), "cleaned")

    soiled = runtime.services.equipment.request_log_entry(
        actor_of(operator), "BAL-001", "soiled", "", None, "powder spilled on the pan"
    )

    instance = runtime.services.equipment.get("BAL-001").instance
    assert (instance.clean, instance.clean_until) == (False, None)
    newest = runtime.services.equipment.logbook("BAL-001")[0]
    assert (newest.entry.id, newest.entry.status, newest.signature) == (soiled, "applied", None)
    [change] = [
        e.draft for e in trail(runtime, "equipment") if e.draft.field == "clean" and e.draft.new_value == "false"
    ]
    assert (change.reason, change.username) == ("powder spilled on the pan", operator.username)


def test_a_cleaning_requested_before_the_instance_was_soiled_can_no_longer_be_applied(
    runtime: Runtime, registered: int
) -> None:
    effective_policy(runtime)
    operator, token = _person(runtime, Role.OPERATOR)
    who = actor_of(operator)
    stale = runtime.services.equipment.request_log_entry(who, "BAL-001", "cleaned", "SOP-CL-01", TOMORROW, "cleaned")
    runtime.services.equipment.request_log_entry(who, "BAL-001", "soiled", "", None, "used for batch B-2")

    with pytest.raises(Conflict, match="later soiled entry"):
        sign(runtime, operator, token, "equipment_log", str(stale), "cleaned")
    assert not runtime.services.equipment.get("BAL-001").instance.clean


def test_a_cleaning_that_expired_before_it_was_signed_is_refused(
    runtime: Runtime, registered: int, clock: FakeClock
) -> None:
    effective_policy(runtime)
    operator = make_user(runtime, Role.OPERATOR)
    entry_id = runtime.services.equipment.request_log_entry(
        actor_of(operator), "BAL-001", "cleaned", "SOP-CL-01", clock.now() + timedelta(hours=1), "cleaned"
    )
    clock.advance(hours=2)

    with pytest.raises(Conflict, match="expired .* before it was signed"):
        sign(runtime, operator, session_token(runtime, operator), "equipment_log", str(entry_id), "cleaned")
    assert not runtime.services.equipment.get("BAL-001").instance.clean


@pytest.mark.parametrize(
    ("kind", "detail", "valid_until", "problem"),
    [
        ("cleaned", "SOP-CL-01", datetime(2026, 11, 25, 8, 0, tzinfo=UTC), "in the future"),
        ("cleaned", "SOP-CL-01", date(2026, 11, 26), "date and time with its zone"),
        ("cleaned", "SOP-CL-01", datetime(2026, 11, 26, 9, 0), "date and time with its zone"),
        ("cleaned", "SOP-CL-01", None, "needs the date"),
        ("cleaned", "", TOMORROW, "needs its detail"),
        ("calibrated", "cert 1", date(2026, 11, 25), "in the future"),
        ("calibrated", "cert 1", TOMORROW, "without a time"),
        ("qualified", "OQ-7", date(2040, 1, 1), "more than ten years"),
        ("soiled", "", date(2027, 1, 1), "takes no validity"),
        ("repaired", "", None, "Unknown logbook entry"),
        ("cleaned", "x" * 2001, TOMORROW, "at most 2000"),
    ],
)
def test_a_logbook_entry_with_a_missing_or_past_validity_or_detail_is_refused_and_nothing_is_stored(
    runtime: Runtime, registered: int, kind: str, detail: str, valid_until: date | None, problem: str
) -> None:
    effective_policy(runtime)
    operator = make_user(runtime, Role.SUPERVISOR)
    with pytest.raises(InvalidInput, match=problem):
        runtime.services.equipment.request_log_entry(
            actor_of(operator), "BAL-001", kind, detail, valid_until, "periodic"
        )
    assert runtime.services.equipment.logbook("BAL-001") == []


def test_logbook_entries_need_a_person_with_the_logbook_permission_and_a_policy_in_force(
    runtime: Runtime, registered: int
) -> None:
    operator = make_user(runtime, Role.OPERATOR)
    with pytest.raises(SignatureRefused, match="No site signature policy"):
        runtime.services.equipment.request_log_entry(
            actor_of(operator), "BAL-001", "cleaned", "SOP-CL-01", TOMORROW, "cleaned"
        )
    effective_policy(runtime)
    for role in (Role.ADMIN, Role.ENGINEER):
        with pytest.raises(PermissionDenied, match="equipment.log"):
            runtime.services.equipment.request_log_entry(
                actor_of(make_user(runtime, role)), "BAL-001", "soiled", "", None, "dirty"
            )
    with pytest.raises(NotFound, match="BAL-404"):
        runtime.services.equipment.request_log_entry(actor_of(operator), "BAL-404", "soiled", "", None, "dirty")
    assert runtime.services.equipment.logbook("BAL-001") == []


def test_the_uses_of_an_instance_name_the_batch_step_and_person(runtime: Runtime, registered: int) -> None:
    batch, step, operator_id = started_batch(runtime)
    now = runtime.services.clock.now()
    with uow_of(runtime) as uow:
        uow.equipment_uses.add(
            EquipmentUse(0, "BAL-001", "balance", batch, step, "", now, operator_id, "kiosk-7", "in service, clean")
        )
        uow.commit()

    [line] = runtime.services.equipment.uses("BAL-001")
    operator = runtime.services.accounts.get(operator_id)
    assert (line.batch, line.used_by, line.use.terminal) == (
        "B-EQ-1",
        f"{operator.full_name} ({operator.username})",
        "kiosk-7",
    )
    assert line.step
    with pytest.raises(NotFound):
        runtime.services.equipment.uses("BAL-404")
    with pytest.raises(NotFound):
        runtime.services.equipment.logbook("BAL-404")
