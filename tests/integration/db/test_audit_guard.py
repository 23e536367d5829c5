"""AUD-01 and AUD-07: every GMP change is audited in the transaction that makes it, under every configuration profile.

The profile tests run once per deployment environment (demo, development, test, production) and per backend: there
is no profile in which a GMP change escapes the trail.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

import ebr.config
from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.adapters.db.audit_guard import CONTEXT_KEY, REDACTED
from ebr.adapters.db.base import Base
from ebr.adapters.db.gmp import GMP_TABLES, NOT_GMP
from ebr.adapters.db.models import AuditEntryRow, UserRow
from ebr.adapters.db.uow import SqlAlchemyUnitOfWork
from ebr.app.context import Actor, AuditContext
from ebr.app.ports import AuditFilter
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.accounts import Role, User
from ebr.domain.audit import Action, AuditEntry
from ebr.domain.configuration import SPECS
from ebr.domain.errors import AuditContextMissing
from tests.factories import PASSWORD, effective_policy, make_user, unique_username
from tests.fakes import FakeClock
from tests.integration.db.activity import change_setting

PROFILES = ("demo", "development", "test", "production")
SYSTEM = Actor.system()


@pytest.fixture(params=PROFILES)
def profile_runtime(
    request: pytest.FixtureRequest, settings: Settings, clock: FakeClock, alerts: RecordingAlertSink
) -> Iterator[Runtime]:
    """The application as each deployment profile builds it; production with real password hashing."""
    env = request.param
    changes: dict[str, object] = {"env": env}
    if env == "production":
        changes |= {"secret_key": secrets.token_urlsafe(48), "fast_password_hashing": False, "force_https": True}
    rt = build(settings.with_(**changes), clock=clock, alert_sink=alerts)
    assert rt.settings.env == env
    assert rt.services.hasher.production_grade == (env == "production")
    yield rt
    rt.engine.dispose()


def _last_seq(rt: Runtime) -> int:
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(AuditEntryRow.seq), 0))).scalar_one())


def _entries_after(rt: Runtime, seq: int) -> list[AuditEntry]:
    return [e for e in rt.services.trail.query(AuditFilter(), None) if e.seq > seq]


def _one_user(rt: Runtime) -> User:
    # Production hashes for real (slow on purpose): every profile test creates exactly one account.
    return rt.services.accounts.create_user(
        SYSTEM, unique_username(), "Jane Doe", frozenset({Role.OPERATOR}), PASSWORD, "new operator, line 1"
    )


def _stored_user(rt: Runtime, user_id: int) -> tuple[str, str, bool]:
    with rt.engine.connect() as conn:
        row = conn.execute(select(UserRow.full_name, UserRow.roles, UserRow.active).where(UserRow.id == user_id)).one()
    return row.full_name, row.roles, row.active


def _count(rt: Runtime, table: str) -> int:
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one())


def _password_hash(rt: Runtime, user_id: int) -> str:
    with rt.engine.connect() as conn:
        return str(conn.execute(select(UserRow.password_hash).where(UserRow.id == user_id)).scalar_one())


def _mapped_class(table: str) -> type[Any]:
    [cls] = [m.class_ for m in Base.registry.mappers if m.local_table.name == table]
    return cls


# A direct ORM change per GMP table: inserting a row, or updating an existing account. The guard refuses before
# any SQL is sent, so the inserted rows need no column values.
DIRECT_CHANGES = [("insert", table) for table in sorted(GMP_TABLES)] + [("update", "user_account")]


@pytest.mark.req("AUD-01")
@pytest.mark.req("AUD-07")
@pytest.mark.parametrize(("change", "table"), DIRECT_CHANGES, ids=[f"{c}-{t}" for c, t in DIRECT_CHANGES])
def test_a_direct_orm_change_of_a_gmp_row_without_an_audit_context_is_refused(
    profile_runtime: Runtime, clock: FakeClock, change: str, table: str
) -> None:
    rt = profile_runtime
    user = _one_user(rt) if change == "update" else None
    before = _last_seq(rt)

    with rt.services.uow(AuditContext(SYSTEM, clock.now(), "ignored")) as uow:
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        del uow.session.info[CONTEXT_KEY]  # a session nobody told who, when and why
        if user is not None:
            row = uow.session.get(UserRow, user.id)
            assert row is not None
            row.full_name = "Renamed Behind The Trail"
        else:
            uow.session.add(_mapped_class(table)())
        with pytest.raises(AuditContextMissing, match=table):
            uow.session.flush()

    assert _last_seq(rt) == before
    if user is not None:
        assert _stored_user(rt, user.id)[0] == "Jane Doe"


@pytest.mark.req("AUD-01")
@pytest.mark.req("AUD-07")
def test_each_gmp_mutation_through_the_services_writes_its_entries(profile_runtime: Runtime, clock: FakeClock) -> None:
    rt = profile_runtime

    start = _last_seq(rt)
    user = _one_user(rt)
    [created] = _entries_after(rt, start)
    assert (created.draft.action, created.draft.object_type, created.draft.object_id) == (
        Action.CREATE,
        "user",
        str(user.id),
    )
    values = json.loads(created.draft.new_value or "{}")
    assert values["username"] == user.username
    assert values["roles"] == "operator"
    assert _password_hash(rt, user.id) not in (created.draft.new_value or ""), "no secret enters the trail"
    assert created.draft.reason == "new operator, line 1"
    assert created.draft.at == clock.now()

    clock.advance(minutes=1)
    start = _last_seq(rt)
    rt.services.accounts.set_roles(SYSTEM, user.id, frozenset({Role.SUPERVISOR}), "promoted")
    [granted] = _entries_after(rt, start)
    assert (granted.draft.action, granted.draft.field, granted.draft.old_value, granted.draft.new_value) == (
        Action.UPDATE,
        "roles",
        "operator",
        "supervisor",
    )
    assert (granted.draft.reason, granted.draft.at) == ("promoted", clock.now())

    clock.advance(minutes=1)
    start = _last_seq(rt)
    rt.services.accounts.set_active(SYSTEM, user.id, False, "left the company")
    [disabled] = _entries_after(rt, start)
    assert (disabled.draft.field, disabled.draft.old_value, disabled.draft.new_value) == ("active", "true", "false")
    assert disabled.draft.reason == "left the company"

    effective_policy(rt)  # a setting change is requested only while a signature policy can govern its signing
    clock.advance(minutes=1)
    start = _last_seq(rt)
    requested = rt.services.settings.request_change(SYSTEM, "lockout.threshold", 3, "tighter lockout per SOP-7")
    [request] = _entries_after(rt, start)
    assert (request.draft.action, request.draft.object_type, request.draft.object_id) == (
        Action.CREATE,
        "setting_change",
        str(requested.id),
    )
    recorded = json.loads(request.draft.new_value or "{}")
    assert (recorded["key"], recorded["old_value"], recorded["new_value"]) == ("lockout.threshold", "5", "3")
    assert request.draft.reason == "tighter lockout per SOP-7"

    start = _last_seq(rt)
    rt.services.api_clients.issue(SYSTEM, "erp", frozenset({"erp.inbound"}), "ERP interface go-live")
    [client] = _entries_after(rt, start)
    assert (client.draft.action, client.draft.object_type) == (Action.CREATE, "api_client")
    assert json.loads(client.draft.new_value or "{}")["token_hash"] == REDACTED

    start = _last_seq(rt)
    rt.services.api_clients.revoke(SYSTEM, int(client.draft.object_id), "interface retired")
    [revoked] = _entries_after(rt, start)
    assert (revoked.draft.action, revoked.draft.field, revoked.draft.old_value) == (Action.UPDATE, "revoked_at", None)

    assert rt.services.trail.verify() == []


@pytest.mark.req("AUD-01")
@pytest.mark.req("AUD-07")
def test_a_signed_setting_change_writes_its_old_and_new_value_with_who_and_why(
    profile_runtime: Runtime, clock: FakeClock
) -> None:
    rt = profile_runtime
    if rt.settings.production:
        pytest.skip(
            "signing needs a QA and an admin account with production-cost key derivation (seconds each); "
            "the production profile's request step is covered above and the audit path does not depend on the profile"
        )
    effective_policy(rt)
    admin = make_user(rt, Role.ADMIN)
    clock.advance(minutes=1)
    start = _last_seq(rt)

    change_setting(rt, admin, "lockout.threshold", 3, "tighter lockout per SOP-7")

    after = _entries_after(rt, start)
    [update] = [e for e in after if e.draft.object_type == "setting" and e.draft.action == Action.UPDATE]
    assert (update.draft.object_id, update.draft.field, update.draft.old_value, update.draft.new_value) == (
        "lockout.threshold",
        "value",
        "5",
        "3",
    )
    assert (update.draft.user_id, update.draft.reason, update.draft.at) == (
        admin.id,
        "tighter lockout per SOP-7",
        clock.now(),
    )
    [signed] = [e for e in after if e.draft.action == Action.SIGN]
    assert signed.draft.object_type == "setting_change"
    assert signed.seq > update.seq
    assert rt.services.settings.current()["lockout.threshold"] == 3


class EntryWriteFailed(Exception):
    """Stands for any failure while the audit entries are being written."""


def _fail_audit_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO AUDIT_ENTRY"):
        raise EntryWriteFailed(statement)


@pytest.mark.req("AUD-01")
@pytest.mark.req("AUD-07")
def test_a_gmp_change_whose_audit_entry_cannot_be_written_is_not_stored_either(
    profile_runtime: Runtime, clock: FakeClock
) -> None:
    rt = profile_runtime
    user = _one_user(rt)
    effective_policy(rt)
    before_entries = _last_seq(rt)
    before_user = _stored_user(rt, user.id)

    event.listen(rt.engine, "before_cursor_execute", _fail_audit_inserts)
    try:
        with pytest.raises(EntryWriteFailed):
            rt.services.accounts.set_roles(SYSTEM, user.id, frozenset({Role.SUPERVISOR}), "promoted")
        with pytest.raises(EntryWriteFailed):
            rt.services.settings.request_change(SYSTEM, "lockout.threshold", 3, "tighter lockout")
    finally:
        event.remove(rt.engine, "before_cursor_execute", _fail_audit_inserts)

    assert _stored_user(rt, user.id) == before_user
    assert _count(rt, "setting_change") == 0
    assert _last_seq(rt) == before_entries
    assert rt.services.trail.verify() == []


@pytest.mark.req("AUD-01")
@pytest.mark.req("AUD-07")
def test_a_unit_of_work_left_without_commit_leaves_neither_the_change_nor_an_entry(
    profile_runtime: Runtime, clock: FakeClock
) -> None:
    rt = profile_runtime
    user = _one_user(rt)
    before_entries = _last_seq(rt)
    before_user = _stored_user(rt, user.id)

    with rt.services.uow(AuditContext(SYSTEM, clock.now(), "abandoned change")) as uow:
        uow.users.set_roles(user.id, frozenset({Role.QA}))
        uow.users.set_full_name(user.id, "Someone Else")
        uow.settings.put("lockout.threshold", 9, clock.now())
        uow.audit.append(Action.STATE_CHANGE, "system", "ebr", new="never committed")
        uow.flush()  # the changes and their drafts now exist inside the transaction, and go with it

    assert _stored_user(rt, user.id) == before_user
    assert rt.services.settings.current()["lockout.threshold"] == 5
    assert _last_seq(rt) == before_entries


@pytest.mark.req("AUD-01")
def test_every_mapped_table_is_classified_as_gmp_or_not_gmp() -> None:
    mapped = set(Base.metadata.tables)
    gmp, not_gmp = set(GMP_TABLES), set(NOT_GMP)

    assert mapped - gmp - not_gmp == set(), "unclassified tables: add them to GMP_TABLES or NOT_GMP"
    assert gmp & not_gmp == set(), "a table is either GMP data or not"
    assert (gmp | not_gmp) - mapped == set(), "the registry names tables that do not exist"
    for name, spec in GMP_TABLES.items():
        columns = set(Base.metadata.tables[name].columns.keys())
        assert spec.redacted <= columns, name
        assert spec.operational <= columns, name
    assert all(reason.strip() for reason in NOT_GMP.values())


@pytest.mark.req("AUD-07")
def test_no_deployment_setting_or_gmp_setting_can_switch_the_audit_trail_off() -> None:
    trail_words = re.compile(r"audit|trail|guard", re.IGNORECASE)
    assert [f.name for f in dataclasses.fields(Settings) if trail_words.search(f.name)] == []
    variables = re.findall(r"\"(EBR_[A-Z_]+)\"", inspect.getsource(ebr.config))
    assert variables, "from_env reads EBR_* variables"
    assert [v for v in variables if trail_words.search(v)] == []
    # The only GMP setting about the trail sets how often it is checkpointed, and cannot be zero.
    audit_specs = [s for s in SPECS if trail_words.search(s.key)]
    assert [s.key for s in audit_specs] == ["audit.checkpoint_minutes"]
    assert audit_specs[0].minimum >= 1


@pytest.mark.req("AUD-01")
def test_a_plain_session_outside_any_unit_of_work_cannot_change_a_gmp_row(runtime: Runtime) -> None:
    from sqlalchemy.orm import Session

    from ebr.adapters.db.models import UserRow
    from ebr.domain.errors import AuditContextMissing
    from tests.factories import make_user

    user = make_user(runtime, Role.OPERATOR)
    with Session(runtime.engine) as session:
        row = session.get(UserRow, user.id)
        assert row is not None
        row.full_name = "Changed Without Trail"
        with pytest.raises(AuditContextMissing):
            session.flush()
        session.rollback()
    assert runtime.services.accounts.get(user.id).full_name == user.full_name
