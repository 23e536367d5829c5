"""ERP postings of a batch's business events, made from the record in the transaction of the state change.

MISSION (ERP posting semantics): completion → goods receipt of the produced quantity into quality-inspection stock
plus the lots consumed; QA release or rejection → a usage decision; cancellation → an aborted performance with what
was consumed so far; a correction of posted quantities → a reversal of the earlier posting, then the corrected one.
The trigger of the goods receipt is completion (ERP-08): nothing is posted before the batch's last step is signed.

Each posting is built from the canonical record as it is inside the same transaction, carries that record's SHA-256
(ERP-07), and is frozen into the outbox before the transaction commits (ERP-02): the state change and its posting
commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ebr.app.execution_context import ProcedureCache
from ebr.app.outbox import enqueue
from ebr.app.ports import UnitOfWork
from ebr.app.ports.erp import PostingEncoder, StoredPosting
from ebr.app.record import build_record, record_digest
from ebr.app.record_evidence import gather
from ebr.domain.batch import BatchStatus
from ebr.domain.erp import MaterialLine, MaterialUse, PerformanceState, Posting, PostingKind

QUALITY_INSPECTION = "QualityInspection"  # stock awaiting QA's usage decision
DISPOSITIONS = {"released": "Released", "rejected": "Rejected"}
Json = Mapping[str, Any]


class PostingReader(Protocol):
    """Reads back the material lines of a frozen posting, to tell whether a correction changed them."""

    def lines(self, xml: bytes) -> tuple[MaterialLine, ...]: ...


@dataclass(frozen=True)
class ErpPostings:
    """Enqueues the postings of a batch's state changes inside the caller's unit of work."""

    cache: ProcedureCache
    encoder: PostingEncoder
    reader: PostingReader
    site: str

    def after_change(self, uow: UnitOfWork, batch_pk: int, at: datetime) -> None:
        """After a step signature or a batch action: post what the batch's state now means to the ERP, once."""
        batch = uow.batches.by_pk(batch_pk).batch
        status = batch.status
        if status not in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
            return  # a step of a running batch: nothing for the ERP yet
        uow.chain()  # the record the posting is made from includes this transaction's own audit entries
        posted = {p.kind for p in uow.outbox.for_aggregate(batch.id)}
        if status is BatchStatus.COMPLETED and PostingKind.COMPLETION not in posted:
            self._post(uow, batch_pk, PostingKind.COMPLETION, at)
        elif status is BatchStatus.CANCELLED and PostingKind.ABORTED not in posted:
            self._post(uow, batch_pk, PostingKind.ABORTED, at)
        elif status is BatchStatus.COMPLETED:
            self._repost_if_changed(uow, batch_pk, at)

    def decided(self, uow: UnitOfWork, batch_pk: int, decision: str, at: datetime) -> None:
        """QA released or rejected the batch: the usage decision on the lot in quality inspection, linked to the
        record the decision was taken on (the released PDF's snapshot, ERP-07)."""
        uow.chain()
        released = uow.documents.current(batch_pk, "released")
        snapshot = released.record_hash if released is not None else None
        self._post(uow, batch_pk, PostingKind.USAGE_DECISION, at, DISPOSITIONS[decision], snapshot)

    def _post(
        self,
        uow: UnitOfWork,
        batch_pk: int,
        kind: PostingKind,
        at: datetime,
        disposition: str = "",
        snapshot: str | None = None,
    ) -> None:
        record = build_record(gather(uow, self.cache, uow.batches.by_pk(batch_pk).batch.id))
        digest = snapshot or record_digest(record)
        earlier = [p for p in uow.outbox.for_aggregate(_batch(record)["id"]) if p.kind == kind]
        posting = _posting(self.site, record, kind, len(earlier) + 1, at, digest, disposition)
        enqueue(uow, posting, self.encoder, batch_pk=batch_pk, record_hash=digest)

    def _repost_if_changed(self, uow: UnitOfWork, batch_pk: int, at: datetime) -> None:
        """A correction after the goods receipt: when the posted quantities changed, reverse it and post again."""
        record = build_record(gather(uow, self.cache, uow.batches.by_pk(batch_pk).batch.id))
        postings = uow.outbox.for_aggregate(_batch(record)["id"])
        current = _current_completion(postings)
        if current is None:
            return
        digest = record_digest(record)
        fresh = _posting(self.site, record, PostingKind.COMPLETION, current.revision + 1, at, digest)
        posted = self.reader.lines(uow.outbox.frozen(current.id).payload)
        if sorted(map(_line_key, posted)) == sorted(map(_line_key, fresh.lines)):
            return
        reversals = sum(1 for p in postings if p.kind == PostingKind.REVERSAL)
        reversal = Posting(
            PostingKind.REVERSAL,
            self.site,
            fresh.batch_id,
            fresh.order_number,
            reversals + 1,
            at,
            fresh.procedure,
            PerformanceState.COMPLETED,
            lines=posted,
            data=(("Reason", "correction of posted quantities"),),
            reverses=current.key,
        )
        enqueue(uow, reversal, self.encoder, batch_pk=batch_pk, record_hash=digest)
        enqueue(uow, fresh, self.encoder, batch_pk=batch_pk, record_hash=digest)


def _current_completion(postings: Sequence[StoredPosting]) -> StoredPosting | None:
    reversed_keys = {p.reverses for p in postings if p.kind == PostingKind.REVERSAL}
    live = [p for p in postings if p.kind == PostingKind.COMPLETION and p.key not in reversed_keys]
    return live[-1] if live else None


def _line_key(line: MaterialLine) -> tuple[str, str, str, str, Decimal, str]:
    return (str(line.use), line.material_code, line.lot, line.container or "", line.quantity, line.unit)


def _batch(record: Json) -> Json:
    batch: Json = record["batch"]
    return batch


def _posting(
    site: str, record: Json, kind: PostingKind, revision: int, at: datetime, digest: str, disposition: str = ""
) -> Posting:
    batch, order, procedure = _batch(record), record["order"], record["procedure"]
    aborted = kind is PostingKind.ABORTED
    lines = _lines(record, kind, disposition)
    data = [("BatchRecordSHA256", digest), ("DeviationCount", str(len(record["deviations"])))]
    if record["yields"]:
        data.append(("YieldPercent", str(record["yields"][-1]["yield_percent"])))
    if disposition:
        data.append(("QualityDisposition", disposition))
    return Posting(
        kind,
        site,
        batch["id"],
        order["number"],
        revision,
        at,
        f"{procedure['id']} version {procedure['version']}",
        PerformanceState.ABORTED if aborted else PerformanceState.COMPLETED,
        start=_moment(batch.get("started_at")),
        end=_moment(batch.get("ended_at")) or (at if aborted else None),
        lines=lines,
        data=tuple(data),
    )


def _lines(record: Json, kind: PostingKind, disposition: str) -> tuple[MaterialLine, ...]:
    """Produced and scrap of the lot (not for an aborted batch), and every lot consumed, from the record."""
    found: list[MaterialLine] = []
    lot, produced = record["produced_lot"], record["produced_lot"]["produced"]
    if produced and kind is not PostingKind.ABORTED:
        status = disposition or QUALITY_INSPECTION
        for use, amount in ((MaterialUse.PRODUCED, produced["quantity"]), (MaterialUse.SCRAP, produced["scrap"])):
            if Decimal(amount) > 0:
                found.append(
                    MaterialLine(
                        use,
                        lot["material_code"],
                        lot["lot_number"],
                        Decimal(amount),
                        produced["unit"],
                        quality_status=status,
                    )
                )
    if kind in (PostingKind.COMPLETION, PostingKind.ABORTED):
        for d in record["dispensings"]:
            if Decimal(d["net"]) > 0:
                found.append(
                    MaterialLine(
                        MaterialUse.CONSUMED,
                        d["material_code"],
                        d["lot_number"],
                        Decimal(d["net"]),
                        d["unit"],
                        container=d["source_container"],
                    )
                )
    return tuple(found)


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
