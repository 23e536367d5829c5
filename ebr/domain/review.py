"""Review by exception (21 CFR 211.192; FDA DI Q&A Q7): which records of a batch QA must look at, and what still
stands between the batch and its release (QA-02, QA-03, AUD-09).

Pure: the use case reads the records and passes them in; every exception gets a stable key so an acknowledgement
names exactly one of them for the life of the record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol

from ebr.domain.audit import to_utc_text
from ebr.domain.batch import Batch, release_blockers
from ebr.domain.signatures import SignatureRefused


class ExceptionKind(StrEnum):
    """What makes a record an exception; the order is the order the review page leads with (QA-03)."""

    DEVIATION = "deviation"
    SIGNATURE_INVALIDATED = "signature_invalidated"
    OUT_OF_LIMIT = "out_of_limit"
    YIELD = "yield"
    RECONCILIATION = "reconciliation"
    OVERRIDE = "override"
    CORRECTION = "correction"
    FAILED_SCAN = "failed_scan"
    DEVICE_ERROR = "device_error"
    BATCH_ACTION = "batch_action"
    REWORK = "rework"
    TRANSCRIBED = "transcribed"  # entered after an outage from a controlled paper form (OPS-02)
    LATE_ENTRY = "late_entry"


class Level(StrEnum):
    """How urgently the reviewer should look; high first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


KIND_LEVEL = {
    ExceptionKind.SIGNATURE_INVALIDATED: Level.HIGH,
    ExceptionKind.OUT_OF_LIMIT: Level.HIGH,
    ExceptionKind.YIELD: Level.HIGH,
    ExceptionKind.RECONCILIATION: Level.HIGH,
    ExceptionKind.OVERRIDE: Level.MEDIUM,
    ExceptionKind.CORRECTION: Level.MEDIUM,
    ExceptionKind.FAILED_SCAN: Level.MEDIUM,
    ExceptionKind.BATCH_ACTION: Level.MEDIUM,
    ExceptionKind.REWORK: Level.MEDIUM,
    ExceptionKind.DEVICE_ERROR: Level.LOW,
    ExceptionKind.TRANSCRIBED: Level.MEDIUM,  # the reviewer compares it with the paper original
    ExceptionKind.LATE_ENTRY: Level.LOW,
}
# Applied actions that depart from the procedure as written; resume, disposition and closure only complete them.
ACTION_KINDS = frozenset({"hold", "cancel", "skip", "reassign", "correct"})
STEP_MEANINGS = frozenset({"performed", "verified"})


@dataclass(frozen=True)
class ReviewException:
    """One record the reviewer must acknowledge, with where it happened and what it concerns."""

    key: str
    kind: ExceptionKind
    level: Level
    summary: str
    step_pk: int | None = None
    deviation_pk: int | None = None
    at: datetime | None = None
    objects: tuple[tuple[str, str], ...] = ()  # the audited objects it concerns: their entries are shown with it
    entries: tuple[int, ...] = ()  # audit entries it is itself


class StepFact(Protocol):
    """A step record as the review reads it."""

    @property
    def id(self) -> int: ...
    @property
    def iteration(self) -> int: ...
    @property
    def status(self) -> str: ...


class ValueFact(Protocol):
    """A value as entered."""

    @property
    def id(self) -> int: ...
    @property
    def step_record_id(self) -> int: ...
    @property
    def field_id(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def unit(self) -> str: ...
    @property
    def captured_at(self) -> datetime: ...
    @property
    def within_limits(self) -> bool | None: ...
    @property
    def limit_text(self) -> str: ...
    @property
    def override_reason(self) -> str: ...
    @property
    def late(self) -> bool: ...
    @property
    def supersedes_id(self) -> int | None: ...
    @property
    def change_reason(self) -> str: ...
    @property
    def after_signing(self) -> bool: ...
    @property
    def deviation_id(self) -> int | None: ...
    @property
    def paper_form(self) -> str: ...


class SignatureFact(Protocol):
    """A step signature: who, when, with which meaning."""

    @property
    def id(self) -> int: ...
    @property
    def object_id(self) -> str: ...
    @property
    def meaning(self) -> str: ...
    @property
    def signer_name(self) -> str: ...
    @property
    def signed_at(self) -> datetime: ...


class DeviationFact(Protocol):
    """A deviation as the review lists it."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def step_record_id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def detected_at(self) -> datetime: ...


@dataclass(frozen=True)
class Finding:
    """Any other record that is an exception by its kind alone: a refused scan, a device error, a signed action,
    a yield or dispensing outside its limits, a material balance beyond its tolerance."""

    key: str
    kind: ExceptionKind
    summary: str
    step_pk: int | None
    at: datetime | None
    objects: tuple[tuple[str, str], ...] = ()
    entries: tuple[int, ...] = ()
    deviation_pk: int | None = None


@dataclass(frozen=True)
class ReviewFacts:
    """Everything classify() reads, already loaded by the use case."""

    step_names: Mapping[int, str]
    steps: Sequence[StepFact] = ()
    values: Sequence[ValueFact] = ()
    signatures: Sequence[SignatureFact] = ()
    deviations: Sequence[DeviationFact] = ()
    findings: Sequence[Finding] = ()
    field_names: Mapping[str, str] = field(default_factory=dict)  # field id → the label people know it by


def _name(facts: ReviewFacts, step_pk: int | None) -> str:
    return facts.step_names.get(step_pk, f"step {step_pk}") if step_pk is not None else "the batch"


def _deviations(facts: ReviewFacts) -> list[ReviewException]:
    return [
        ReviewException(
            f"deviation:{d.id}",
            ExceptionKind.DEVIATION,
            Level.MEDIUM if d.severity == "minor" else Level.HIGH,
            f"{d.number} ({d.kind}, {d.severity}, {d.status}) at {_name(facts, d.step_record_id)}: {d.description}",
            d.step_record_id,
            d.id,
            d.detected_at,
            (("deviation", str(d.id)),),
        )
        for d in facts.deviations
    ]


def _value(facts: ReviewFacts, v: ValueFact, kind: ExceptionKind, suffix: str, text: str) -> ReviewException:
    where = _name(facts, v.step_record_id)
    objects = [("step_value", str(v.id))]
    if kind is ExceptionKind.CORRECTION and v.supersedes_id is not None:
        objects.append(("step_value", str(v.supersedes_id)))
    return ReviewException(
        f"value:{v.id}:{suffix}",
        kind,
        KIND_LEVEL[kind],
        f"{where}: {facts.field_names.get(v.field_id, v.field_id)} = {v.value} {v.unit}".rstrip() + f" {text}",
        v.step_record_id,
        v.deviation_id,
        v.captured_at,
        tuple(objects),
    )


def _values(facts: ReviewFacts) -> list[ReviewException]:
    by_id = {v.id: v for v in facts.values}
    found = []
    for v in facts.values:
        if v.within_limits is False:
            found.append(_value(facts, v, ExceptionKind.OUT_OF_LIMIT, "out_of_limit", f"outside {v.limit_text}"))
        if v.override_reason:
            text = f"typed over its device reading: {v.override_reason}"
            found.append(_value(facts, v, ExceptionKind.OVERRIDE, "override", text))
        previous = by_id.get(v.supersedes_id) if v.supersedes_id is not None else None
        if previous is not None and (v.after_signing or previous.value != v.value):
            when = "after signing" if v.after_signing else "before signing"
            text = f"(was {previous.value}; changed {when}: {v.change_reason or 'no reason given'})"
            found.append(_value(facts, v, ExceptionKind.CORRECTION, "correction", text))
        if v.paper_form:
            text = f"transcribed from paper form {v.paper_form}"
            found.append(_value(facts, v, ExceptionKind.TRANSCRIBED, "transcribed", text))
        if v.late:
            found.append(_value(facts, v, ExceptionKind.LATE_ENTRY, "late", "entered late"))
    return found


def _invalidations(facts: ReviewFacts) -> list[ReviewException]:
    """A step signature whose values a later signed correction changed: it no longer covers what is current."""
    found = []
    for sig in facts.signatures:
        if sig.meaning not in STEP_MEANINGS:
            continue
        later = [
            v
            for v in facts.values
            if v.after_signing and str(v.step_record_id) == sig.object_id and v.captured_at >= sig.signed_at
        ]
        if not later:
            continue
        first = min(later, key=lambda v: (v.captured_at, v.id))
        step_pk = first.step_record_id
        found.append(
            ReviewException(
                f"signature:{sig.id}",
                ExceptionKind.SIGNATURE_INVALIDATED,
                Level.HIGH,
                f"{_name(facts, step_pk)}: the {sig.meaning!r} signature of {sig.signer_name} "
                f"({to_utc_text(sig.signed_at)}) invalidated by change at {to_utc_text(first.captured_at)} "
                f"({facts.field_names.get(first.field_id, first.field_id)} corrected)",
                step_pk,
                None,
                first.captured_at,
                (("signature", str(sig.id)), ("step_value", str(first.id))),
            )
        )
    return found


def _rework(facts: ReviewFacts) -> list[ReviewException]:
    return [
        ReviewException(
            f"step:{s.id}:rework",
            ExceptionKind.REWORK,
            Level.MEDIUM,
            f"{_name(facts, s.id)} repeated: pass {s.iteration} ({s.status})",
            s.id,
            objects=(("step_record", str(s.id)),),
        )
        for s in facts.steps
        if s.iteration > 1
    ]


def _findings(facts: ReviewFacts) -> list[ReviewException]:
    return [
        ReviewException(
            f.key, f.kind, KIND_LEVEL[f.kind], f.summary, f.step_pk, f.deviation_pk, f.at, f.objects, f.entries
        )
        for f in facts.findings
    ]


KIND_ORDER = {kind: index for index, kind in enumerate(ExceptionKind)}
LEVEL_ORDER = {level: index for index, level in enumerate(Level)}


def classify(facts: ReviewFacts) -> list[ReviewException]:
    """Every exception of the batch, most urgent first, each once (QA-03)."""
    found = _deviations(facts) + _invalidations(facts) + _values(facts) + _rework(facts) + _findings(facts)
    unique = {e.key: e for e in found}
    return sorted(
        unique.values(),
        key=lambda e: (LEVEL_ORDER[e.level], KIND_ORDER[e.kind], e.step_pk or 0, e.key),
    )


def outside_tolerance(discrepancy: str, tolerance: Decimal | None) -> bool:
    """A material balance beyond its tolerance; with no tolerance known, any discrepancy at all (BR-03)."""
    try:
        amount = abs(Decimal(discrepancy))
    except InvalidOperation:
        return True  # a balance that cannot be read is one the reviewer must look at
    return amount > (tolerance if tolerance is not None else Decimal(0))


def unacknowledged(exceptions: Sequence[ReviewException], acknowledged: Collection[str]) -> list[str]:
    """The keys of the exceptions no reviewer has acknowledged yet (QA-02)."""
    return [e.key for e in exceptions if e.key not in acknowledged]


def missing_signatures(
    steps: Sequence[StepFact], needs_verifier: Mapping[int, bool], signed: Mapping[int, Collection[str]]
) -> list[int]:
    """Completed steps without their performer's signature, or their verifier's where the step needs one."""
    missing = []
    for step in steps:
        if step.status != "completed":
            continue
        meanings = signed.get(step.id, ())
        if "performed" not in meanings or (needs_verifier.get(step.id, False) and "verified" not in meanings):
            missing.append(step.id)
    return missing


@dataclass(frozen=True)
class ReleaseState:
    """What release_state() checks beyond the batch itself, each already named for the reader."""

    open_deviations: Sequence[str] = ()
    unsigned_steps: Sequence[str] = ()
    incomplete_steps: Sequence[str] = ()
    awaiting_verification: Sequence[str] = ()
    unacknowledged: Sequence[str] = ()
    audit_reviewed: bool = False
    audit_changed_after: int | None = None  # the last entry reviewed, when entries came after it
    other: Sequence[str] = field(default_factory=tuple)


def blockers(batch: Batch, state: ReleaseState) -> list[str]:
    """Every reason the batch cannot be released now, each named (21 CFR 211.192; QA-02, AUD-09)."""
    found = release_blockers(
        batch,
        state.open_deviations,
        state.unsigned_steps,
        state.audit_reviewed,
        incomplete_steps=state.incomplete_steps,
        unacknowledged_exceptions=state.unacknowledged,
    )
    found.extend(f"step {ref} is awaiting verification" for ref in state.awaiting_verification)
    if state.audit_changed_after is not None:
        found.append(f"the audit trail changed since it was reviewed (entries after #{state.audit_changed_after})")
    found.extend(state.other)
    return found


def check_independent(
    meaning: str, signer_id: int, differs_from: Collection[str], step_signers: Mapping[str, Collection[int]]
) -> None:
    """The site policy's differs_from on a batch-wide signature, applied to every step of the batch: whoever
    performed or verified a step does not review or release it (SIG-11; EU GMP Annex 16)."""
    for other in sorted(differs_from):
        if signer_id in step_signers.get(other, ()):
            raise SignatureRefused(
                f"The {meaning!r} signer must be a different person from the {other!r} signer of a step of this batch."
            )
