"""The audit trail for QA: filter, export (itself audited), verify and checkpoint (AUD-06, AUD-08)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from ebr.app.context import Actor, AuditContext, RequestInfo
from ebr.app.ports import AuditFilter, CheckpointStore, Clock, Sealer, UnitOfWorkFactory
from ebr.domain.audit import Action, AuditEntry, Checkpoint, Finding, checkpoint_message, to_utc_text
from ebr.domain.chain_scan import ChainScan
from ebr.domain.errors import InvalidInput

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
    "clock_anomaly",
    "prev_hash",
    "hash",
)


def entry_row(entry: AuditEntry) -> dict[str, object]:
    """One entry as a flat record with every column (AUD-08 'all fields')."""
    d = entry.draft
    return {
        "seq": entry.seq,
        "at": to_utc_text(d.at),
        "user_id": d.user_id,
        "username": d.username,
        "user_name": d.user_name,
        "action": str(d.action),
        "object_type": d.object_type,
        "object_id": d.object_id,
        "field": d.field,
        "old_value": d.old_value,
        "new_value": d.new_value,
        "reason": d.reason,
        "context": json.dumps(d.context, sort_keys=True),
        "clock_anomaly": entry.clock_anomaly,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@dataclass(frozen=True)
class Export:
    """An export file: its bytes, media type and how many entries it holds."""

    content: bytes
    media_type: str
    filename: str
    count: int


# Entries read from the database at a time: few round trips, and a chunk's rows are small beside the process.
CHUNK = 5_000

PdfMaker = Callable[[list[dict[str, object]], dict[str, str]], bytes]


class TrailService:
    """Read side of the trail and its integrity checks."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, sealer: Sealer, checkpoints: CheckpointStore, pdf: PdfMaker
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._sealer = sealer
        self._checkpoints = checkpoints
        self._pdf = pdf

    def query(self, flt: AuditFilter, limit: int | None = 500) -> list[AuditEntry]:
        """Entries matching QA's filter, oldest first."""
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            return uow.audit.query(flt, limit)

    def export(self, actor: Actor, flt: AuditFilter, fmt: str, request: RequestInfo | None = None) -> Export:
        """The filtered trail as CSV, JSON or PDF; the export writes its own entry (AUD-08)."""
        if fmt not in ("csv", "json", "pdf"):
            raise InvalidInput("Export format must be csv, json or pdf.")
        now = self._clock.now()
        with self._uow(AuditContext(actor, now, request=request or RequestInfo())) as uow:
            rows = [entry_row(e) for e in uow.audit.query(flt, None)]
            uow.audit.append(Action.EXPORT, "audit_trail", fmt, new=f"{len(rows)} entries; filter {_describe(flt)}")
            uow.commit()
        content, media = self._render(rows, fmt, actor, now.isoformat())
        stamp = to_utc_text(now).replace(":", "").replace("-", "")[:15]
        return Export(content, media, f"audit-trail-{stamp}.{fmt}", len(rows))

    def _render(self, rows: list[dict[str, object]], fmt: str, actor: Actor, at: str) -> tuple[bytes, str]:
        if fmt == "json":
            return json.dumps({"entries": rows}, indent=1, ensure_ascii=False).encode(), "application/json"
        if fmt == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
            return buf.getvalue().encode(), "text/csv"
        meta = {"generated_by": f"{actor.full_name} ({actor.username})", "generated_at": at}
        return self._pdf(rows, meta), "application/pdf"

    def verify(self, chunk: int = CHUNK) -> list[Finding]:
        """Recompute the chain against the seals and the signed checkpoints (VAL-02, AUD-06).

        Every entry's hash, link and seal is checked, as `verify_chain` does, over plain rows read in chunks."""
        scan = ChainScan(self._checkpoints.all())
        seal_ok = self._sealer.verify
        findings: list[Finding] = []
        with self._uow(AuditContext(Actor.system(), self._clock.now())) as uow:
            for rows in uow.audit.chain_rows(chunk):
                result = scan.chunk(rows)
                findings += result.findings(
                    {i for i, (message, seal) in enumerate(result.seals) if not seal_ok(message, seal)}
                )
        return findings + scan.end(seal_ok)

    def checkpoint(self) -> Checkpoint:
        """Sign the chain head and keep it outside the database, so deleting the tail shows."""
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            seq, head = uow.audit.head()
        cp = Checkpoint(seq, head, now, self._sealer.sign(checkpoint_message(seq, head, now)))
        self._checkpoints.append(cp)
        return cp

    def checkpoint_if_due(self, every_minutes: int) -> Checkpoint | None:
        """The periodic checkpoint the worker takes; none when nothing was appended since the last."""
        existing = self._checkpoints.all()
        now = self._clock.now()
        with self._uow(AuditContext(Actor.system(), now)) as uow:
            seq, _ = uow.audit.head()
        if existing and (existing[-1].seq == seq or (now - existing[-1].at).total_seconds() < every_minutes * 60):
            return None
        return self.checkpoint()


def _describe(flt: AuditFilter) -> str:
    parts = [f"{k}={v}" for k, v in vars(flt).items() if v not in ("", None)]
    return ", ".join(parts) or "none"
