"""Audit entries and their hash chain (21 CFR 11.10(e); Annex 11 §9).

Each entry's hash covers its canonical content and the previous entry's hash, so an edit,
deletion, insertion or reordering breaks the chain.  The chain alone does not stop someone who
can rewrite the whole table; each entry is therefore also sealed with a key that lives outside the
database, and signed checkpoints of the chain head expose deletions at the tail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

GENESIS_HASH = "0" * 64


class Action(StrEnum):
    """What happened, in the words of AUD-02 and AUD-10."""

    CREATE = "create"
    UPDATE = "update"
    VOID = "void"
    SIGN = "sign"
    SIGN_FAILED = "sign_failed"
    CERTIFICATE_ISSUED = "certificate_issued"
    KEY_REVOKED = "key_revoked"
    STATE_CHANGE = "state_change"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SESSION_TIMEOUT = "session_timeout"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    PERMISSION_DENIED = "permission_denied"
    PASSWORD_CHANGE = "password_change"  # noqa: S105  # an action name, not a secret
    PASSWORD_RESET = "password_reset"  # noqa: S105  # an action name, not a secret
    EXPORT = "export"
    SYSTEM_START = "system_start"
    SYSTEM_UPGRADE = "system_upgrade"
    CLOCK_ANOMALY = "clock_anomaly"
    CHECKPOINT = "checkpoint"
    DEVICE_FAULT = "device_fault"  # a capture that failed after its retries (DEV-02)
    CHECK_FAILED = "check_failed"  # an identity or equipment scan refused (SEQ-07)
    MESSAGE_REFUSED = "message_refused"  # an inbound ERP message refused as a whole: nothing of it was stored
    MESSAGE_REPEATED = "message_repeated"  # an inbound ERP message received again: answered, not applied again
    INTEGRITY_CHECK = "integrity_check"  # a scheduled run of the verifier, passed or failed (REC-07)


@dataclass(frozen=True)
class EntryDraft:
    """An entry before it joins the chain: who, when, what, old, new, why and the context."""

    at: datetime
    user_id: int | None
    username: str
    user_name: str
    action: Action
    object_type: str
    object_id: str
    field: str = ""
    old_value: str | None = None
    new_value: str | None = None
    reason: str = ""
    context: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    """A chained entry as stored."""

    seq: int
    draft: EntryDraft
    clock_anomaly: bool
    prev_hash: str
    hash: str
    seal: str


def to_utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with an explicit Z (TIME-01)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry its zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_bytes(seq: int, draft: EntryDraft, clock_anomaly: bool) -> bytes:
    """A stable encoding: sorted keys, no spaces, UTF-8; the same on every platform and database."""
    body = {
        "seq": seq,
        "at": to_utc_text(draft.at),
        "user_id": draft.user_id,
        "username": draft.username,
        "user_name": draft.user_name,
        "action": str(draft.action),
        "object_type": draft.object_type,
        "object_id": draft.object_id,
        "field": draft.field,
        "old": draft.old_value,
        "new": draft.new_value,
        "reason": draft.reason,
        "context": dict(sorted(draft.context.items())),
        "clock_anomaly": clock_anomaly,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_digest(seq: int, draft: EntryDraft, clock_anomaly: bool) -> str:
    """SHA-256 of one entry's canonical content, its position included."""
    return hashlib.sha256(canonical_bytes(seq, draft, clock_anomaly)).hexdigest()


def entry_hash(seq: int, draft: EntryDraft, clock_anomaly: bool, prev_hash: str) -> str:
    """The chain link: SHA-256 over the previous hash and this entry's content digest."""
    return hashlib.sha256(f"{prev_hash}:{content_digest(seq, draft, clock_anomaly)}".encode()).hexdigest()


def seal_message(seq: int, digest: str) -> bytes:
    """What the instance key signs for one entry: its content digest, so the seal names the edited entry."""
    return f"ebr-audit-entry:{seq}:{digest}".encode()


def is_clock_anomaly(previous_at: datetime | None, at: datetime) -> bool:
    """An entry time earlier than the previous chain entry is a backward clock step (TIME-02)."""
    return previous_at is not None and at < previous_at


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement 'the chain had seq entries and ended in head_hash'."""

    seq: int
    head_hash: str
    at: datetime
    signature: str


def checkpoint_message(seq: int, head_hash: str, at: datetime) -> bytes:
    """What the instance key signs for a checkpoint."""
    return f"ebr-audit-checkpoint:{seq}:{head_hash}:{to_utc_text(at)}".encode()


@dataclass(frozen=True)
class Finding:
    """One problem the verifier found, at a sequence number where it can name one."""

    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "audit trail"
        return f"{where}: {self.problem}"


SealCheck = Callable[[bytes, str], bool]


def verify_chain(entries: Iterable[AuditEntry], checkpoints: Sequence[Checkpoint], seal_ok: SealCheck) -> list[Finding]:
    """Recompute the chain and hold it against the seals and signed checkpoints (AUD-06)."""
    findings: list[Finding] = []
    hashes: dict[int, str] = {}
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for entry in entries:
        findings.extend(_check_entry(entry, expected_seq, prev_hash, seal_ok))
        hashes[entry.seq] = entry.hash
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
    last_seq = expected_seq - 1
    for checkpoint in checkpoints:
        findings.extend(_check_checkpoint(checkpoint, hashes, last_seq, seal_ok))
    return findings


def _check_entry(entry: AuditEntry, expected_seq: int, prev_hash: str, seal_ok: SealCheck) -> list[Finding]:
    found: list[Finding] = []
    if entry.seq > expected_seq:
        found.append(Finding(expected_seq, f"entries {expected_seq}..{entry.seq - 1} are missing"))
    elif entry.seq < expected_seq:
        found.append(Finding(entry.seq, "sequence out of order or duplicated"))
    digest = content_digest(entry.seq, entry.draft, entry.clock_anomaly)
    if not seal_ok(seal_message(entry.seq, digest), entry.seal):
        found.append(
            Finding(entry.seq, "content does not match its seal: edited, inserted or moved outside the application")
        )
    elif entry_hash(entry.seq, entry.draft, entry.clock_anomaly, entry.prev_hash) != entry.hash:
        found.append(Finding(entry.seq, "stored hash does not match the content"))
    if entry.prev_hash != prev_hash and entry.seq == expected_seq:
        found.append(Finding(entry.seq, "previous-hash link broken (an entry before it was removed or altered)"))
    return found


def _check_checkpoint(
    checkpoint: Checkpoint, hashes: dict[int, str], last_seq: int, seal_ok: SealCheck
) -> list[Finding]:
    message = checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.at)
    if not seal_ok(message, checkpoint.signature):
        return [Finding(checkpoint.seq, "checkpoint signature invalid")]
    if checkpoint.seq > last_seq:
        return [
            Finding(
                last_seq + 1,
                f"entries {last_seq + 1}..{checkpoint.seq} are missing: the checkpoint of "
                f"{to_utc_text(checkpoint.at)} recorded {checkpoint.seq} entries",
            )
        ]
    if hashes.get(checkpoint.seq) != checkpoint.head_hash:
        return [Finding(checkpoint.seq, "chain differs from the signed checkpoint (history rewritten)")]
    return []
