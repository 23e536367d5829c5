"""The audit-chain check over plain rows, chunk by chunk (AUD-06): what `verify_chain` finds, at scale.

`verify_chain` takes domain entries one by one. This scan takes the stored columns as plain tuples (no entry objects)
and hashes each entry's content once for both its seal message and its chain link; the caller checks a chunk's seals
and `findings` merges them with the chain's own findings in the order `verify_chain` reports them. Only the hashes
that checkpoints name are kept, so memory stays flat however long the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ebr.domain.audit import GENESIS_HASH, Checkpoint, Finding, SealCheck, _check_checkpoint, seal_message, to_utc_text

# The stored columns a scan reads, in this order.
COLUMNS = (
    "seq",
    "at",
    "user_id",
    "username",
    "user_name",
    "action",
    "object_type",
    "object_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "context",
    "batch",
    "clock_anomaly",
    "prev_hash",
    "hash",
    "seal",
)
ChainRow = Sequence[Any]  # a database row: ints, strings, a datetime and a bool
Seal = tuple[bytes, str]

# The same settings as `canonical_bytes`' json.dumps, built once instead of per entry.
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode

SEAL_FAILED = "content does not match its seal: edited, inserted or moved outside the application"
HASH_FAILED = "stored hash does not match the content"
LINK_BROKEN = "previous-hash link broken (an entry before it was removed or altered)"


def row_canonical_bytes(row: ChainRow) -> bytes:
    """`canonical_bytes` of the entry a stored row holds, straight from its columns."""
    context = json.loads(row[12])
    if row[13] != context.get("batch", ""):
        # As the repository reads it: an unsealed batch column that disagrees stands in for the context's.
        context["batch"] = row[13]
    at = row[1]
    assert isinstance(at, datetime)
    body = {
        "seq": row[0],
        "at": to_utc_text(at),
        "user_id": row[2],
        "username": row[3],
        "user_name": row[4],
        "action": row[5],
        "object_type": row[6],
        "object_id": row[7],
        "field": row[8],
        "old": row[9],
        "new": row[10],
        "reason": row[11],
        "context": context,
        "clock_anomaly": row[14],
    }
    return _encode(body).encode()


@dataclass
class ChunkResult:
    """One chunk's chain findings by position, waiting for its seal results."""

    seals: list[Seal]
    seqs: list[int]
    gaps: dict[int, Finding] = field(default_factory=dict)
    bad_hash: set[int] = field(default_factory=set)
    broken_link: set[int] = field(default_factory=set)

    def findings(self, failed_seals: Collection[int]) -> list[Finding]:
        """Every finding of the chunk in chain order; failed_seals are positions whose seal did not verify."""
        out: list[Finding] = []
        for i in sorted(set(self.gaps) | self.bad_hash | self.broken_link | set(failed_seals)):
            if i in self.gaps:
                out.append(self.gaps[i])
            if i in failed_seals:
                out.append(Finding(self.seqs[i], SEAL_FAILED))
            elif i in self.bad_hash:
                out.append(Finding(self.seqs[i], HASH_FAILED))
            if i in self.broken_link:
                out.append(Finding(self.seqs[i], LINK_BROKEN))
        return out


class ChainScan:
    """Walks the chain chunk by chunk, remembering only the previous link and the checkpoints' hashes."""

    def __init__(self, checkpoints: Sequence[Checkpoint]) -> None:
        self._checkpoints = checkpoints
        self._wanted = {c.seq for c in checkpoints}
        self._hashes: dict[int, str] = {}
        self._prev_hash = GENESIS_HASH
        self._expected = 1

    def chunk(self, rows: Sequence[ChainRow]) -> ChunkResult:
        """Check the links and hashes of the next rows; their seals are left to the caller."""
        result = ChunkResult([], [])
        for i, row in enumerate(rows):
            seq, prev_hash, stored_hash, seal = row[0], row[15], row[16], row[17]
            if seq > self._expected:
                result.gaps[i] = Finding(self._expected, f"entries {self._expected}..{seq - 1} are missing")
            elif seq < self._expected:
                result.gaps[i] = Finding(seq, "sequence out of order or duplicated")
            digest = hashlib.sha256(row_canonical_bytes(row)).hexdigest()
            result.seqs.append(seq)
            result.seals.append((seal_message(seq, digest), seal))
            if hashlib.sha256(f"{prev_hash}:{digest}".encode()).hexdigest() != stored_hash:
                result.bad_hash.add(i)
            if prev_hash != self._prev_hash and seq == self._expected:
                result.broken_link.add(i)
            if seq in self._wanted:
                self._hashes[seq] = stored_hash
            self._prev_hash = stored_hash
            self._expected = seq + 1
        return result

    def end(self, seal_ok: SealCheck) -> list[Finding]:
        """The checkpoints held against the chain as scanned (after the last chunk)."""
        last_seq = self._expected - 1
        return [f for c in self._checkpoints for f in _check_checkpoint(c, self._hashes, last_seq, seal_ok)]
