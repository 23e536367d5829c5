"""The canonical batch record: complete against the database, valid against its published schema, hashed stably,
and rebuildable as it stood at a past moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import jsonschema
import pytest

from ebr.adapters.batchml.export import BatchMLExporter
from ebr.app.context import Actor, AuditContext
from ebr.app.execution_context import ProcedureCache
from ebr.app.execution_corrections import Entry
from ebr.app.ports import AuditFilter
from ebr.app.record import SCHEMA_ID, RecordService, record_digest, record_schema
from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from ebr.domain.errors import InvalidInput, NotFound
from ebr.domain.orders import ProductionOrder
from ebr.domain.signatures import canonical_json
from ebr.engine.runtime import SpiffRuntime
from ebr.library.loader import FolderLibrary
from tests.app.execution_support import KIOSK, running_batch
from tests.app.record_support import (
    VERSION,
    counts,
    granulation_batch,
    quick_batch,
    record_service,
    step_record,
)
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock

Json = dict[str, object]


def _valid(record: Json) -> None:
    validator = jsonschema.Draft202012Validator(record_schema())
    problems = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(record)]
    assert problems == []


def _list(record: Json, key: str) -> list[Json]:
    found = record[key]
    assert isinstance(found, list)
    return found


def _values(record: Json) -> list[Json]:
    return [v for step in _list(record, "steps") for v in _list(step, "values")]


def _signature_ids(record: Json) -> list[int]:
    procedure = record["procedure"]
    assert isinstance(procedure, dict)
    ids = [s["id"] for s in procedure["approvals"]]
    ids += [s["id"] for step in _list(record, "steps") for s in _list(step, "signatures")]
    ids += [a["signature"]["id"] for a in _list(record, "actions") if a["signature"]]  # type: ignore[index]
    return ids


def _phases(node: Json) -> list[Json]:
    children = _list(node, "children")
    return [node] if node["level"] == "phase" else [p for child in children for p in _phases(child)]


def _audit_count(runtime: Runtime, record: Json) -> int:
    """The batch's audit entries counted one object at a time straight from the trail."""
    objects: set[tuple[str, str]] = {("batch", str(_batch_pk(runtime, record)))}
    for step in _list(record, "steps"):
        objects |= {("step_record", str(step["id"])), ("batch_step", str(step["id"]))}
    sections = {
        "deviation": "deviations",
        "batch_action": "actions",
        "dispensing": "dispensings",
        "batch_yield": "yields",
        "material_reconciliation": "reconciliations",
        "equipment_use": "equipment_uses",
        "identity_check": "identity_checks",
        "batch_sample": "samples",
        "step_attachment": "attachments",
    }
    for object_type, key in sections.items():
        objects |= {(object_type, str(row["id"])) for row in _list(record, key)}
    objects |= {("step_value", str(v["id"])) for v in _values(record)}
    objects |= {("container", str(d["label"])) for d in _list(record, "dispensings")}
    objects |= {("signature", str(i)) for i in _signature_ids(record)} - _approval_keys(record)
    objects.add(("production_order", str(_order_pk(runtime, record))))
    query = runtime.services.trail.query
    return sum(len(query(AuditFilter(object_type=t, object_id=i), None)) for t, i in objects)


def _approval_keys(record: Json) -> set[tuple[str, str]]:
    procedure = record["procedure"]
    assert isinstance(procedure, dict)
    return {("signature", str(s["id"])) for s in procedure["approvals"]}


def _batch_pk(runtime: Runtime, record: Json) -> int:
    batch = record["batch"]
    assert isinstance(batch, dict)
    return runtime.services.batches.get(str(batch["id"])).id


def _order_pk(runtime: Runtime, record: Json) -> int:
    batch = record["batch"]
    assert isinstance(batch, dict)
    return runtime.services.batches.get(str(batch["id"])).order_id


@pytest.mark.slow
@pytest.mark.req("BR-01")
@pytest.mark.req("BR-08")
def test_the_record_of_a_whole_batch_holds_every_row_of_its_evidence_and_validates(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = granulation_batch(runtime, clock)
    record = record_service(runtime).record(floor.batch_id)
    _valid(record)
    db = counts(runtime, floor.batch_id)
    assert len(_list(record, "steps")) == db["steps"]
    assert len(_values(record)) == db["values"]
    assert len(_signature_ids(record)) == db["signatures"] + db["approvals"] == len(set(_signature_ids(record)))
    for key in ("deviations", "actions", "dispensings", "equipment_uses", "identity_checks", "yields"):
        assert len(_list(record, key)) == db[key], key
    assert len(_list(record, "reconciliations")) == db["reconciliations"]
    assert len(_list(record, "audit_trail")) == _audit_count(runtime, record)
    lots = {(d["material_code"], d["lot_number"], d["expiry"]) for d in _list(record, "dispensings")}
    assert ("PARA-API", "L-PARA-API", "2099-12-31") in lots and len(lots) == 5
    # BR-01: one phase per executed task, the rework loop's second pass included, each under its unit procedure.
    tree = record["procedure_tree"]
    assert isinstance(tree, dict)
    phases = _phases(tree)
    assert sorted(p["step_record_id"] for p in phases) == sorted(s["id"] for s in _list(record, "steps"))
    operations = {o["id"]: o for u in _list(tree, "children") for o in _list(u, "children")}
    assert len(_list(operations["dry_granules"], "children")) == 2
    assert {u["id"] for u in _list(tree, "children")} == {"granulation", "line_clearance"}
    assert all(p["started_at"] and p["ended_at"] and p["status"] == "completed" for p in phases)
    # BR-08: every executed step shows its performer's signature, and its verifier's where the step asks for one.
    for step in _list(record, "steps"):
        meanings = [s["meaning"] for s in _list(step, "signatures")]
        assert step["performer"] and "performed" in meanings, step["step_id"]
        assert not step["needs_verifier"] or (step["verifier"] and "verified" in meanings), step["step_id"]


def test_the_published_schema_is_a_valid_draft_2020_12_schema_with_the_record_urn() -> None:
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == SCHEMA_ID and schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_record_of_a_running_batch_with_every_kind_of_act_validates(runtime: Runtime, clock: FakeClock) -> None:
    floor = quick_batch(runtime, clock)
    record = record_service(runtime).record(floor.batch_id)
    _valid(record)
    assert (record["schema"], record["software_version"]) == (SCHEMA_ID, str(runtime.services.system.version))
    db = counts(runtime, floor.batch_id)
    assert len(_values(record)) == db["values"] and len(_signature_ids(record)) == db["signatures"]
    hold = next(a for a in _list(record, "actions") if a["kind"] == "hold")
    assert hold["held_seconds"] == 7 * 60 and hold["lifted_at"]
    lot = [v for v in _values(record) if v["field_id"] == "qc_lot"]
    assert [(v["value"], v["current"], v["after_signing"]) for v in lot] == [
        ("LOT-1", False, False),
        ("LOT-7", True, True),
    ]
    assert lot[0]["superseded_by"] == lot[1]["id"] and lot[1]["change_reason"] == "misread label"
    typed_over = next(v for v in _values(record) if v["field_id"] == "qc_mass")
    assert (typed_over["within"], typed_over["override_reason"]) == (False, "balance offline")
    decided = next(d for d in _list(record, "deviations") if d["kind"] == "out_of_limit")
    assert decided["disposition"] == "reject" and [s["meaning"] for s in decided["signatures"]] == ["dispositioned"]
    refused = [c for c in _list(record, "identity_checks") if c["refused"]]
    assert [c["barcode"] for c in refused] == ["NOPE-1"] and refused[0]["reason"]


def test_the_record_reproduces_the_master_with_the_approvals_given_before_the_batch_started(
    runtime: Runtime, clock: FakeClock
) -> None:
    effective_policy(runtime)
    roles = (Role.ENGINEER, Role.QA, Role.SUPERVISOR, Role.OPERATOR)
    engineer, qa, supervisor, operator = (make_user(runtime, role) for role in roles)
    version = runtime.services.procedures.import_from_library(actor_of(engineer), "quick_check")
    sign(runtime, engineer, session_token(runtime, engineer), "procedure_version", str(version.id), "authored")
    sign(runtime, qa, session_token(runtime, qa), "procedure_version", str(version.id), "approved")
    runtime.services.procedures.make_effective(actor_of(qa), version.id, clock.now(), ["QC-SAMPLE"], "new SOP")
    planner = actor_of(supervisor)
    order = runtime.services.orders.create(planner, ProductionOrder("PO-1", "QC-SAMPLE", Decimal(5), "kg", "B-1"))
    runtime.services.orders.release(planner, order.id)
    clock.advance(minutes=1)
    runtime.services.batches.start(actor_of(operator), order.id)
    record = record_service(runtime).record("B-1")
    procedure, batch = record["procedure"], record["batch"]
    assert isinstance(procedure, dict) and isinstance(batch, dict)
    signed = runtime.services.signing.signatures_on("procedure_version", str(version.id))
    assert [(s["id"], s["meaning"]) for s in procedure["approvals"]] == [(s.id, s.meaning) for s in signed]
    assert [s["meaning"] for s in procedure["approvals"]] == ["authored", "approved"]
    assert procedure["content_hash"] == version.content_hash == batch["procedure_hash"]
    assert (procedure["id"], procedure["version"]) == ("quick_check", version.version)
    _valid(record)


def test_the_record_hash_is_stable_and_holds_no_generation_time_or_user(runtime: Runtime, clock: FakeClock) -> None:
    floor = quick_batch(runtime, clock)
    service = record_service(runtime)
    first = service.record(floor.batch_id)
    clock.advance(hours=5)  # a later copy, by someone else
    second = service.record(floor.batch_id)
    assert canonical_json(first) == canonical_json(second)
    assert service.record_hash(floor.batch_id) == record_digest(first) == record_digest(second)
    copy = service.copy_metadata(actor_of(floor.qa.user), clock.now(), record_digest(first))
    assert copy["record_hash"] == record_digest(first) and copy["software_version"] == VERSION
    assert str(copy["generated_at"]) not in canonical_json(second).decode()
    assert service.record_hash(floor.batch_id) == record_digest(first)


def test_a_correction_changes_the_record_hash(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    service = record_service(runtime)
    before = service.record_hash(floor.batch_id)
    clock.advance(minutes=2)
    identify = step_record(floor, "qc_identify")
    parameters = {"field": "qc_lot", "value": "LOT-2"}
    floor.act("correct", floor.operator, "corrected", "misread label", step_pk=identify.id, parameters=parameters)
    assert service.record_hash(floor.batch_id) != before


@pytest.mark.req("AUD-11")
def test_the_record_as_of_a_past_moment_equals_the_record_taken_then(runtime: Runtime, clock: FakeClock) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    service = record_service(runtime)
    clock.advance(minutes=1)
    moment = clock.now()
    snapshot = service.record(floor.batch_id)
    clock.advance(minutes=1)
    identify = step_record(floor, "qc_identify")
    parameters = {"field": "qc_lot", "value": "LOT-7"}
    floor.act("correct", floor.operator, "corrected", "misread label", step_pk=identify.id, parameters=parameters)
    floor.act("hold", floor.supervisor, "held", "room pressure alarm")
    floor.act("resume", floor.supervisor, "resumed", "pressure back in range")
    floor.perform("qc_weigh", qc_mass=_typed_over("1.500"))
    floor.sign_step("qc_weigh", "verified")
    deviation = next(d for d in runtime.services.execution.batch(floor.batch_id).deviations if d.kind == "out_of_limit")
    parameters = {"disposition": "reject", "impact": "sample discarded"}
    floor.act(
        "disposition", floor.qa, "dispositioned", "out of tolerance", deviation_pk=deviation.id, parameters=parameters
    )
    now = service.record(floor.batch_id)
    assert now != snapshot
    rebuilt = service.as_of(floor.batch_id, moment)
    assert rebuilt == snapshot
    assert record_digest(rebuilt) == record_digest(snapshot)
    original = [v for v in _values(rebuilt) if v["field_id"] == "qc_lot"]
    assert [(v["value"], v["current"]) for v in original] == [("LOT-1", True)]
    assert service.as_of(floor.batch_id, clock.now()) == now


def _typed_over(text: str) -> Entry:
    return Entry("qc_mass", text, "kg", confirmed=True, override_reason="balance offline")


@pytest.mark.req("AUD-11")
def test_the_record_as_of_a_moment_rewinds_steps_deviations_actions_the_batch_and_printed_names(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    floor.perform("qc_identify", qc_lot="LOT-1", qc_balance_id="BAL-1")
    floor.perform("qc_weigh", qc_mass=_typed_over("1.500"))  # performed, awaiting its verifier; deviations open
    supervisor = actor_of(floor.supervisor.user)
    hold = runtime.services.execution.request_action(supervisor, floor.batch_id, "hold", "room pressure alarm", KIOSK)
    service = record_service(runtime)
    moment, snapshot = clock.now(), service.record(floor.batch_id)
    clock.advance(minutes=1)
    floor.sign_step("qc_weigh", "verified")
    deviation = next(d for d in runtime.services.execution.batch(floor.batch_id).deviations if d.kind == "out_of_limit")
    parameters = {"disposition": "reject", "impact": "sample discarded"}
    floor.act("disposition", floor.qa, "dispositioned", "rejected", deviation_pk=deviation.id, parameters=parameters)
    sign(runtime, floor.supervisor.user, floor.supervisor.token, "batch_action", str(hold.id), "held")
    with runtime.services.uow(AuditContext(Actor.system(), clock.now(), "name changed at marriage")) as uow:
        uow.users.set_full_name(floor.operator.user.id, "Renamed Operator")
        uow.commit()
    now, then = service.record(floor.batch_id), service.as_of(floor.batch_id, moment)
    assert then == snapshot
    assert (now["batch"]["status"], then["batch"]["status"]) == ("held", "in_progress")  # type: ignore[index]
    assert now["batch"]["started_by"]["name"] == "Renamed Operator"  # type: ignore[index]
    assert then["batch"]["started_by"]["name"] == floor.operator.user.full_name  # type: ignore[index]
    weigh = {s["step_id"]: s for s in _list(then, "steps")}["qc_weigh"]
    assert (weigh["status"], weigh["verifier"], len(_list(weigh, "signatures"))) == ("performed", None, 1)
    assert [(a["kind"], a["status"], a["signature"]) for a in _list(then, "actions")] == [("hold", "pending", None)]
    decided = next(d for d in _list(then, "deviations") if d["id"] == deviation.id)
    assert (decided["status"], decided["disposition"], decided["signatures"]) == ("open", "", [])


def test_as_of_refuses_a_moment_without_its_zone_and_a_moment_before_the_batch(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = running_batch(runtime)
    service = record_service(runtime)
    with pytest.raises(InvalidInput, match="time zone"):
        service.as_of(floor.batch_id, datetime(2026, 11, 25, 9, 0))  # the naive moment under test
    with pytest.raises(NotFound, match="had not started"):
        service.as_of(floor.batch_id, clock.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        service.record("B-NONE")


def test_the_record_names_the_software_that_started_the_batch_so_an_upgrade_keeps_its_hash(
    runtime: Runtime, clock: FakeClock
) -> None:
    floor = quick_batch(runtime, clock)
    cache = ProcedureCache(FolderLibrary(runtime.settings.library_dir), SpiffRuntime())
    # The same database read by an upgraded software version.
    upgraded = RecordService(runtime.services.uow, clock, cache, "9.9.9+upgrade", BatchMLExporter())
    assert upgraded.record(floor.batch_id)["software_version"] == str(runtime.services.system.version)
    assert upgraded.record_hash(floor.batch_id) == runtime.services.records.record_hash(floor.batch_id)
