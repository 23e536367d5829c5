"""Review by exception as pure rules: what is an exception, in which order, and what blocks release."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ebr.domain.batch import Batch, BatchStatus
from ebr.domain.review import (
    ExceptionKind,
    Finding,
    Level,
    ReleaseState,
    ReviewFacts,
    blockers,
    check_independent,
    classify,
    missing_signatures,
    outside_tolerance,
    unacknowledged,
)
from ebr.domain.signatures import SignatureRefused

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NAMES = {1: "Weigh (pass 1)", 2: "Label (pass 1)", 3: "Label (pass 2)"}


@dataclass(frozen=True)
class Step:
    id: int
    iteration: int = 1
    status: str = "completed"


@dataclass(frozen=True)
class Value:
    id: int
    step_record_id: int = 1
    field_id: str = "mass"
    value: str | None = "1.000"
    unit: str = "kg"
    captured_at: datetime = T0
    within_limits: bool | None = True
    limit_text: str = "1.000 ± 0.010 kg"
    override_reason: str = ""
    late: bool = False
    supersedes_id: int | None = None
    change_reason: str = ""
    after_signing: bool = False
    deviation_id: int | None = None
    paper_form: str = ""


@dataclass(frozen=True)
class Signature:
    id: int
    object_id: str = "1"
    meaning: str = "performed"
    signer_name: str = "Olga Operator"
    signed_at: datetime = T0 + timedelta(minutes=5)


@dataclass(frozen=True)
class Deviation:
    id: int
    number: str = "DEV-B-1-001"
    step_record_id: int | None = 1
    kind: str = "out_of_limit"
    severity: str = "major"
    status: str = "open"
    description: str = "mass 1.050 kg outside 1.000 ± 0.010 kg"
    detected_at: datetime = T0


def facts(**kw: object) -> ReviewFacts:
    return ReviewFacts(NAMES, **kw)  # type: ignore[arg-type]  # the test passes the sequences it needs


def keys(found: ReviewFacts) -> list[str]:
    return [e.key for e in classify(found)]


def test_a_record_as_the_procedure_expects_is_no_exception() -> None:
    assert classify(facts(steps=[Step(1)], values=[Value(1)], signatures=[Signature(1)])) == []


def test_each_kind_of_value_exception_has_its_own_stable_key() -> None:
    values = [
        Value(1, within_limits=False, value="1.050", deviation_id=7),
        Value(2, override_reason="scale offline"),
        Value(3, late=True),
        Value(4, value="1.002"),
        Value(5, value="1.004", supersedes_id=4, change_reason="typo"),
    ]
    found = {e.key: e for e in classify(facts(values=values))}
    assert set(found) == {"value:1:out_of_limit", "value:2:override", "value:3:late", "value:5:correction"}
    assert found["value:1:out_of_limit"].deviation_pk == 7
    assert "outside 1.000 ± 0.010 kg" in found["value:1:out_of_limit"].summary
    assert "was 1.002" in found["value:5:correction"].summary and "typo" in found["value:5:correction"].summary
    assert set(found["value:5:correction"].objects) == {("step_value", "5"), ("step_value", "4")}


def test_a_second_entry_confirming_the_same_value_is_not_a_correction() -> None:
    values = [Value(1), Value(2, supersedes_id=1)]
    assert keys(facts(values=values)) == []


def test_a_correction_after_signing_invalidates_the_step_signatures_it_follows() -> None:
    corrected_at = T0 + timedelta(hours=1)
    values = [Value(1), Value(2, value="1.003", supersedes_id=1, after_signing=True, captured_at=corrected_at)]
    signatures = [
        Signature(10),
        Signature(11, meaning="verified", signer_name="Sam Supervisor"),
        Signature(12, object_id="2"),  # another step: untouched by the correction
        Signature(13, meaning="corrected", signed_at=corrected_at),  # the correction's own signature
    ]
    found = {e.key: e for e in classify(facts(values=values, signatures=signatures))}
    assert set(found) == {"value:2:correction", "signature:10", "signature:11"}
    invalidated = found["signature:11"]
    assert invalidated.kind is ExceptionKind.SIGNATURE_INVALIDATED and invalidated.level is Level.HIGH
    assert "invalidated by change at 2026-11-25T10:00:00.000000Z" in invalidated.summary
    assert "Sam Supervisor" in invalidated.summary and invalidated.step_pk == 1


def test_a_repeated_pass_of_a_step_is_rework() -> None:
    found = classify(facts(steps=[Step(2), Step(3, iteration=2)]))
    assert [(e.key, e.kind, e.summary) for e in found] == [
        ("step:3:rework", ExceptionKind.REWORK, "Label (pass 2) repeated: pass 2 (completed)")
    ]


def test_deviations_lead_by_severity_and_every_kind_keeps_its_order() -> None:
    findings = [
        Finding("audit:99", ExceptionKind.DEVICE_ERROR, "capture failed", 1, T0),
        Finding("check:5", ExceptionKind.FAILED_SCAN, "scan refused", 1, T0),
        Finding("action:4", ExceptionKind.BATCH_ACTION, "hold: alarm", None, T0),
    ]
    found = classify(
        facts(
            deviations=[Deviation(2, severity="minor"), Deviation(1, severity="critical")],
            values=[Value(9, late=True), Value(8, within_limits=False)],
            findings=findings,
        )
    )
    assert [e.key for e in found] == [
        "deviation:1",
        "value:8:out_of_limit",
        "deviation:2",
        "check:5",
        "action:4",
        "audit:99",
        "value:9:late",
    ]
    assert [e.level for e in found] == [Level.HIGH] * 2 + [Level.MEDIUM] * 3 + [Level.LOW] * 2


def test_a_finding_keeps_its_links_and_audit_entries() -> None:
    finding = Finding("audit:42", ExceptionKind.DEVICE_ERROR, "capture of mass failed", 1, T0, entries=(42,))
    [found] = classify(facts(findings=[finding]))
    assert (found.key, found.step_pk, found.entries, found.level) == ("audit:42", 1, (42,), Level.LOW)


@pytest.mark.parametrize(
    ("discrepancy", "tolerance", "outside"),
    [("0.050", Decimal("0.050"), False), ("-0.051", Decimal("0.050"), True), ("0", None, False), ("0.001", None, True)],
)
def test_a_material_balance_is_an_exception_beyond_its_tolerance(
    discrepancy: str, tolerance: Decimal | None, outside: bool
) -> None:
    assert outside_tolerance(discrepancy, tolerance) is outside


def test_unacknowledged_keys_are_those_without_a_mark() -> None:
    found = classify(facts(values=[Value(1, late=True), Value(2, late=True)]))
    assert unacknowledged(found, {"value:1:late"}) == ["value:2:late"]


def test_a_completed_step_without_its_performer_or_required_verifier_signature_is_named() -> None:
    steps = [Step(1), Step(2), Step(3), Step(4, status="skipped")]
    signed = {1: {"performed", "verified"}, 2: {"performed"}}
    assert missing_signatures(steps, {1: True, 2: True, 3: False}, signed) == [2, 3]


def batch(status: BatchStatus = BatchStatus.IN_REVIEW) -> Batch:
    return Batch("B-1", "PO-1", "P-1", 1, "ab" * 32, status)


def test_every_blocker_is_named() -> None:
    state = ReleaseState(
        open_deviations=["DEV-B-1-001"],
        unsigned_steps=["Weigh (pass 1)"],
        incomplete_steps=["Label (pass 1)"],
        awaiting_verification=["Check (pass 1)"],
        unacknowledged=["value:3:late"],
        audit_reviewed=True,
        audit_changed_after=120,
        other=("no release candidate PDF has been rendered",),
    )
    assert blockers(batch(), state) == [
        "deviation DEV-B-1-001 is not closed",
        "step Weigh (pass 1) lacks a required signature",
        "step Label (pass 1) is not complete",
        "exception value:3:late is not acknowledged by the reviewer",
        "step Check (pass 1) is awaiting verification",
        "the audit trail changed since it was reviewed (entries after #120)",
        "no release candidate PDF has been rendered",
    ]


def test_a_reviewed_batch_in_review_has_no_blocker_and_an_unreviewed_trail_is_one() -> None:
    assert blockers(batch(), ReleaseState(audit_reviewed=True)) == []
    assert blockers(batch(), ReleaseState()) == ["the audit trail has no 'audit trail reviewed' signature"]
    assert blockers(batch(BatchStatus.COMPLETED), ReleaseState(audit_reviewed=True)) == [
        "the batch is completed, not in review"
    ]


def test_whoever_performed_or_verified_a_step_may_not_review_or_release_the_batch() -> None:
    signers = {"performed": {7}, "verified": {8}}
    check_independent("released", 9, {"performed", "verified"}, signers)
    for signer in (7, 8):
        with pytest.raises(SignatureRefused, match="different person"):
            check_independent("released", signer, {"performed", "verified"}, signers)
    check_independent("reviewed", 8, {"performed"}, signers)  # the policy decides which meanings must differ


def test_a_late_correction_of_another_value_leaves_the_signature_before_it_alone() -> None:
    late = T0 + timedelta(hours=2)
    values = [Value(1, step_record_id=2), replace(Value(2, step_record_id=2), after_signing=True, captured_at=late)]
    sigs = [Signature(20, object_id="2", signed_at=late + timedelta(minutes=1))]  # signed after the correction
    assert "signature:20" not in keys(facts(values=values, signatures=sigs))


def test_a_value_exception_names_the_step_and_the_field_as_people_know_them() -> None:
    found = classify(facts(values=[Value(1, late=True)], field_names={"mass": "Net mass"}))
    assert [e.summary for e in found] == ["Weigh (pass 1): Net mass = 1.000 kg entered late"]
