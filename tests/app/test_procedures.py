"""The procedure library's lifecycle with signatures, immutability, product mapping and comparison (VAL-08, VAL-10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ebr.app.ports import AuditFilter, StoredVersion
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.accounts import Role, User
from ebr.domain.errors import Conflict, InvalidInput, InvalidTransition
from ebr.domain.procedure import Change
from ebr.domain.signatures import SignatureRefused
from tests.factories import actor_of, effective_policy, make_user, session_token, sign
from tests.fakes import FakeClock


@pytest.fixture
def people(runtime: Runtime) -> tuple[User, User]:
    effective_policy(runtime)
    return make_user(runtime, Role.ENGINEER, full_name="Erin Engineer"), make_user(runtime, Role.QA)


def _submit(runtime: Runtime, engineer: User, version: StoredVersion) -> None:
    sign(runtime, engineer, session_token(runtime, engineer), "procedure_version", str(version.id), "authored")


def _approve(runtime: Runtime, qa: User, version: StoredVersion) -> None:
    sign(runtime, qa, session_token(runtime, qa), "procedure_version", str(version.id), "approved")


@pytest.mark.req("VAL-08")
def test_a_version_moves_through_its_signed_lifecycle_and_its_content_never_changes(
    runtime: Runtime, people: tuple[User, User]
) -> None:
    engineer, qa = people
    procedures = runtime.services.procedures
    draft = procedures.import_from_library(actor_of(engineer), "quick_check")
    assert (draft.status, draft.version) == ("draft", 1)
    _submit(runtime, engineer, draft)
    assert procedures.view(draft.id).version.status == "in_review"
    _approve(runtime, qa, draft)
    approved = procedures.view(draft.id).version
    assert approved.status == "approved"
    upload = procedures.bundle(draft.id).files["workflows/quick_check/procedure.bpmn"]
    with pytest.raises(Conflict, match="frozen"):
        procedures.revise(actor_of(engineer), draft.id, "procedure.bpmn", upload.replace(b"Weigh", b"Weight"))
    procedures.make_effective(actor_of(qa), draft.id, runtime.services.clock.now(), ["PARA-500"], "release of SOP")
    assert procedures.view(draft.id).version.status == "effective"
    assert procedures.bundle(draft.id).content_hash == draft.content_hash
    assert [(code, v.id) for code, v in procedures.product_mapping()] == [("PARA-500", draft.id)]
    signatures = runtime.services.signing.signatures_on("procedure_version", str(draft.id))
    assert [(s.meaning, s.signer_id) for s in signatures] == [("authored", engineer.id), ("approved", qa.id)]
    statuses = runtime.services.trail.query(AuditFilter(object_type="procedure_version", object_id=str(draft.id)))
    assert [e.draft.new_value for e in statuses if e.draft.field == "status"] == ["in_review", "approved", "effective"]


@pytest.mark.req("VAL-08")
def test_the_author_cannot_approve_their_own_version_even_holding_the_qa_role(
    runtime: Runtime, people: tuple[User, User]
) -> None:
    author = make_user(runtime, Role.ENGINEER, Role.QA, full_name="Dual Role")
    draft = runtime.services.procedures.import_from_library(actor_of(author), "quick_check")
    _submit(runtime, author, draft)
    with pytest.raises(SignatureRefused, match="different person"):
        _approve(runtime, author, draft)
    engineer, _ = people
    with pytest.raises(SignatureRefused, match="needs one of the roles qa"):
        _approve(runtime, engineer, draft)
    assert runtime.services.procedures.view(draft.id).version.status == "in_review"
    assert runtime.services.procedures.bundle(draft.id).content_hash == draft.content_hash


def test_a_version_cannot_skip_a_state(runtime: Runtime, people: tuple[User, User]) -> None:
    engineer, qa = people
    draft = runtime.services.procedures.import_from_library(actor_of(engineer), "quick_check")
    with pytest.raises(InvalidTransition):
        _approve(runtime, qa, draft)
    with pytest.raises(InvalidTransition):
        runtime.services.procedures.make_effective(actor_of(qa), draft.id, runtime.services.clock.now(), [], "skip")


def test_importing_identical_content_returns_the_same_version(runtime: Runtime, people: tuple[User, User]) -> None:
    engineer, _ = people
    first = runtime.services.procedures.import_from_library(actor_of(engineer), "quick_check")
    again = runtime.services.procedures.import_from_library(actor_of(engineer), "quick_check")
    assert again.id == first.id


def test_a_newer_effective_version_supersedes_the_one_in_force_for_the_product(
    tmp_path: Path, settings: Settings, clock: FakeClock
) -> None:
    library = _library_copy(tmp_path)
    rt = build(settings.with_(library_dir=library), clock=clock)
    try:
        effective_policy(rt)
        engineer, qa = make_user(rt, Role.ENGINEER), make_user(rt, Role.QA)
        versions = []
        for target in ("1.000", "1.005"):
            _set_target(library, target)
            version = rt.services.procedures.import_from_library(actor_of(engineer), "quick_check")
            _submit(rt, engineer, version)
            _approve(rt, qa, version)
            rt.services.procedures.make_effective(actor_of(qa), version.id, clock.now(), ["PARA-500"], "new SOP")
            versions.append(version)
        statuses = [rt.services.procedures.view(v.id).version.status for v in versions]
        assert statuses == ["superseded", "effective"]
        assert [v.id for _, v in rt.services.procedures.product_mapping()] == [versions[1].id]
    finally:
        rt.engine.dispose()


@pytest.mark.req("VAL-10")
def test_changing_one_limit_between_two_versions_shows_exactly_that_change(
    tmp_path: Path, settings: Settings, clock: FakeClock
) -> None:
    library = _library_copy(tmp_path)
    rt = build(settings.with_(library_dir=library), clock=clock)
    try:
        engineer = make_user(rt, Role.ENGINEER)
        v1 = rt.services.procedures.import_from_library(actor_of(engineer), "quick_check")
        _set_target(library, "1.005")
        v2 = rt.services.procedures.import_from_library(actor_of(engineer), "quick_check")
        assert v1.content_hash != v2.content_hash
        assert rt.services.procedures.compare(v1.id, v2.id) == [
            Change("changed", "limit", "qc_weigh/qc_mass", "1.000 kg ± 0.010 kg", "1.005 kg ± 0.010 kg")
        ]
        assert rt.services.procedures.compare(v1.id, v1.id) == []
    finally:
        rt.engine.dispose()


def test_the_demo_granulation_procedure_lints_clean_and_runs_to_the_end_in_a_dry_run(
    runtime: Runtime, people: tuple[User, User]
) -> None:
    engineer, _ = people
    version = runtime.services.procedures.import_from_library(actor_of(engineer), "granulation")
    view = runtime.services.procedures.view(version.id)
    assert view.problems == []
    assert len(view.steps) >= 30
    result = runtime.services.procedures.dry_run(actor_of(engineer), version.id, {})
    assert result.completed, (result.waiting_at, result.problems)
    assert result.problems == ()
    assert len([element for element in result.path if element in view.steps]) >= 30


def _library_copy(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parents[2]
    target = tmp_path / "library"
    for folder in ("workflows", "forms", "equipment", "signatures"):
        shutil.copytree(root / folder, target / folder)
    return target


def _set_target(library: Path, target: str) -> None:
    path = library / "forms" / "qc_weigh.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    form["fields"][0]["limits"]["target"] = target
    path.write_text(json.dumps(form, indent=2), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (b'value="qc_weigh"', b'value="no_such_form"', "no_such_form"),
        (b"within(qc_mass", b"__import__('os').system('id') or within(qc_mass", "not allowed"),
        (b"<bpmn:definitions", b"<!DOCTYPE lol [<!ENTITY a 'a'>]><bpmn:definitions", "DOCTYPE"),
        (b"<bpmn:definitions", b"not xml at all <bpmn:definitions", "XML"),
    ],
    ids=["missing-form", "hostile-expression", "entity-trick", "not-xml"],
)
def test_a_bad_upload_is_refused_naming_the_problem_and_nothing_is_stored(
    runtime: Runtime, people: tuple[User, User], old: bytes, new: bytes, named: str
) -> None:
    engineer, _ = people
    original = (Path(__file__).resolve().parents[2] / "workflows" / "quick_check" / "procedure.bpmn").read_bytes()
    assert old in original
    with pytest.raises(InvalidInput, match=named):
        runtime.services.procedures.import_upload(actor_of(engineer), "procedure.bpmn", original.replace(old, new, 1))
    assert runtime.services.procedures.versions() == []


def test_qa_returns_a_version_in_review_to_its_author_with_a_reason(
    runtime: Runtime, people: tuple[User, User]
) -> None:
    engineer, qa = people
    draft = runtime.services.procedures.import_from_library(actor_of(engineer), "quick_check")
    _submit(runtime, engineer, draft)
    with pytest.raises(InvalidInput, match="reason"):
        runtime.services.procedures.return_to_author(actor_of(qa), draft.id, "")
    runtime.services.procedures.return_to_author(actor_of(qa), draft.id, "limits of step 2 to be checked")
    back = runtime.services.procedures.view(draft.id).version
    assert (back.status, back.status_reason) == ("draft", "limits of step 2 to be checked")
    with pytest.raises(InvalidTransition):
        runtime.services.procedures.return_to_author(actor_of(qa), draft.id, "again")
