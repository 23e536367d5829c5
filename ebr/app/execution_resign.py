"""Re-signing a step after a signed correction (SIG-03; 21 CFR 11.10(e), 11.70).

A step's "performed" and "verified" signatures cover the values entered before they were given. A signed correction
afterwards leaves them standing as history, "invalidated by change at <time>", and the step needs re-signing with
the same meaning over its content as it is now. The re-signature is a batch action (kinds below) whose signed content
carries the step's current values through the last correction it covers; release waits until every invalidated
meaning is re-signed (the step is named), and a further correction asks for re-signing again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from ebr.app.execution_context import current_values
from ebr.app.ports import StoredAction, StoredSignature, StoredValue, UnitOfWork
from ebr.domain.batch import BatchStatus
from ebr.domain.errors import Conflict
from ebr.domain.signatures import SignatureRefused

# batch action kind → the meaning it re-signs with; the site policy's rule for that meaning on a step applies
RESIGN_KINDS = {"resign_performed": "performed", "resign_verified": "verified"}
STEP_MEANINGS = ("performed", "verified")
APPLIED = "applied"
# In review too: a correction made before submission may still owe its re-signature, which release waits for.
OPEN_STATUSES = (BatchStatus.IN_PROGRESS, BatchStatus.HELD, BatchStatus.COMPLETED, BatchStatus.IN_REVIEW)


@dataclass(frozen=True)
class Invalidation:
    """A step signature a later signed correction changed the content of: it stays, marked, as history."""

    signature: StoredSignature
    changed_at: datetime
    field_id: str


@dataclass(frozen=True)
class ResignState:
    """What the step page and release read: invalidated signatures, re-signatures given, meanings still owed."""

    invalidated: list[Invalidation] = field(default_factory=list)
    resigned: list[StoredAction] = field(default_factory=list)  # applied re-sign actions, oldest first
    awaiting: list[str] = field(default_factory=list)  # meanings to re-sign now, performed first
    through: int | None = None  # the last correction's value id: what a re-signature now covers
    resignatures: list[StoredSignature] = field(default_factory=list)  # the re-signatures themselves

    def invalidated_at(self, signature_id: int) -> datetime | None:
        """When a correction invalidated this signature, or None."""
        return next((i.changed_at for i in self.invalidated if i.signature.id == signature_id), None)


def through_of(action: StoredAction) -> int:
    loaded = json.loads(action.payload or "{}")
    through = loaded.get("through", "0") if isinstance(loaded, dict) else "0"
    return int(through) if str(through).isdigit() else 0


def resign_state(
    values: Iterable[StoredValue], signatures: Iterable[StoredSignature], actions: Iterable[StoredAction]
) -> ResignState:
    """The step's re-signing state from its values, its own signatures and its batch actions."""
    corrections = sorted((v for v in values if v.after_signing), key=lambda v: v.id)
    if not corrections:
        return ResignState()
    invalidated = []
    for sig in sorted(signatures, key=lambda s: s.id):
        later = [c for c in corrections if sig.meaning in STEP_MEANINGS and c.captured_at >= sig.signed_at]
        if later:
            invalidated.append(Invalidation(sig, later[0].captured_at, later[0].field_id))
    resigned = sorted((a for a in actions if a.kind in RESIGN_KINDS and a.status == APPLIED), key=lambda a: a.id)
    covered: dict[str, int] = {}
    for action in resigned:
        meaning = RESIGN_KINDS[action.kind]
        covered[meaning] = max(covered.get(meaning, 0), through_of(action))
    latest = corrections[-1].id
    owed = {i.signature.meaning for i in invalidated}
    awaiting = [m for m in STEP_MEANINGS if m in owed and covered.get(m, 0) < latest]
    return ResignState(invalidated, resigned, awaiting, latest)


def load_resign_state(uow: UnitOfWork, batch_pk: int, step_pk: int, excluding: int | None = None) -> ResignState:
    """The state of one step record, read in the caller's unit of work (without the action being applied)."""
    actions = [a for a in uow.batch_actions.for_batch(batch_pk) if a.step_record_id == step_pk and a.id != excluding]
    signatures = uow.signatures.for_object("batch_step", str(step_pk))
    state = resign_state(uow.step_values.for_step(step_pk), signatures, actions)
    given = [s for a in state.resigned for s in uow.signatures.for_object("batch_action", str(a.id))]
    return replace(state, resignatures=given)


def resign_blockers(uow: UnitOfWork, batch_pk: int, steps: Iterable[tuple[int, str]]) -> list[str]:
    """Each step still awaiting re-signing after a correction, named with the meanings owed (release waits)."""
    values = uow.step_values.for_batch(batch_pk)
    if not any(v.after_signing for v in values):
        return []  # no signed correction in the batch: nothing more to read
    actions = uow.batch_actions.for_batch(batch_pk)
    found = []
    for pk, name in steps:
        state = resign_state(
            (v for v in values if v.step_record_id == pk),
            uow.signatures.for_object("batch_step", str(pk)),
            (a for a in actions if a.step_record_id == pk),
        )
        if state.awaiting:
            found.append(f"step {name} awaits re-signing ({', '.join(state.awaiting)}) after a correction")
    return found


def resigned_keys(uow: UnitOfWork, batch_pk: int, step_pks: Iterable[int]) -> set[str]:
    """The review keys of invalidated signatures whose meaning was re-signed since: history, no longer blocking."""
    values = uow.step_values.for_batch(batch_pk)
    touched = {v.step_record_id for v in values if v.after_signing} & set(step_pks)
    keys = set()
    for pk in sorted(touched):
        state = load_resign_state(uow, batch_pk, pk)
        keys |= {f"signature:{i.signature.id}" for i in state.invalidated if i.signature.meaning not in state.awaiting}
    return keys


def resign_values(uow: UnitOfWork, step_pk: int, through: int) -> Mapping[str, object]:
    """What a re-signature covers: every field's value in force through that correction, corrections included."""
    values = current_values([v for v in uow.step_values.for_step(step_pk) if v.id <= through])
    return {f: {"value": v.value, "unit": v.unit, "entry": v.id} for f, v in sorted(values.items())}


def apply_resign(uow: UnitOfWork, batch_pk: int, action: StoredAction, signature: StoredSignature) -> None:
    """The re-signature, inside its signature's unit of work with the batch locked: refused unless still owed."""
    assert action.step_record_id is not None
    batch = uow.batches.by_pk(batch_pk).batch
    if batch.status not in OPEN_STATUSES:
        raise Conflict(f"Batch {batch.id} is {batch.status}: its record is closed.")
    meaning = RESIGN_KINDS[action.kind]
    state = load_resign_state(uow, batch_pk, action.step_record_id, excluding=action.id)  # marked applied already
    if meaning not in state.awaiting:
        raise Conflict(f"The step does not await re-signing {meaning!r}.")
    if through_of(action) != state.through:
        raise Conflict("The step was corrected again after re-signing was requested: re-sign it again.")
    if meaning == "verified":
        performers = {uow.batches.step(action.step_record_id).performed_by}
        performers |= {s.signer_id for s in state.resignatures if s.meaning == "performed"}
        if signature.signer_id in performers:
            raise SignatureRefused("The 'verified' signer must be a different person from the 'performed' signer.")
