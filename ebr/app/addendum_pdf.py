"""The signed revision an addendum makes (QA-05): the released record stays as it was; a new document carries it.

When QA approves an addendum, inside the request and after the password check (as at release), a short PDF/A-3b is
rendered that states every approved addendum of the batch, embeds the released (or rejected) record PDF byte for
byte and the addenda as JSON, and the approver's own key signs it with PAdES. It is stored as the next revision of
the batch's addendum document; the released PDF, its hash and its signature are untouched. The rendering is one or
two pages (an addendum holds at most 10,000 characters), so it stays well inside a request.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ebr.app.context import Actor
from ebr.app.ports import (
    KeyUnavailable,
    PdfSigner,
    PdfStamp,
    StoredKey,
    StoredSignature,
    TimestampUnavailable,
    UnitOfWork,
    UnitOfWorkFactory,
)
from ebr.app.ports.documents import NewDocument, RecordRenderer, StoredDocument
from ebr.app.record import RecordService
from ebr.app.record_evidence import system_context
from ebr.domain.audit import to_utc_text
from ebr.domain.errors import Conflict
from ebr.domain.signatures import canonical_json

ADDENDUM = "addendum"
DECIDED_KINDS = ("released", "rejected")
STAMP_MEANING = "Addendum approved by"
ADDENDUM_OBJECT = "batch_addendum"


@dataclass(frozen=True)
class _Signed:
    record_hash: str
    pdf: bytes


class AddendumPdf:
    """Renders and signs the addendum revision before the approval transaction, and stores it within it."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        records: RecordService,
        renderer: RecordRenderer,
        signer: PdfSigner,
        tsa_url: str = "",
    ) -> None:
        self._uow = uow
        self._records = records
        self._renderer = renderer
        self._signer = signer
        self._tsa_url = tsa_url
        self._signed: dict[str, _Signed] = {}  # by signing challenge, between the password check and the approval
        self._lock = threading.Lock()

    def prepare(
        self, challenge_id: str, addendum_pk: int, key: StoredKey, password: str, signer: Actor, at: datetime
    ) -> None:
        """Render the revision with this addendum approved by the signer, and sign it with the signer's key."""
        with self._uow(system_context(at)) as uow:
            content, attachments = _content(uow, addendum_pk, signer, at)
        batch_id = str(content["batch"])
        record_hash = self._records.record_hash(batch_id)
        copy = self._records.copy_metadata(signer, at, record_hash)
        pdf = self._renderer.render(content, copy, attachments, draft=False)
        try:
            signed = self._signer.sign_pdf(
                pdf,
                key.wrapped,
                password,
                key.certificate_pem,
                PdfStamp(signer.full_name, STAMP_MEANING, at),
                self._tsa_url,
            )
        except TimestampUnavailable as exc:
            raise Conflict(f"The time-stamping service did not answer ({exc}): nothing was approved.") from None
        except KeyUnavailable:
            raise Conflict("Your signing key cannot be unlocked: nothing was approved.") from None
        with self._lock:
            self._signed[challenge_id] = _Signed(record_hash, signed)

    def store(self, uow: UnitOfWork, batch_pk: int, signature: StoredSignature, at: datetime) -> StoredDocument:
        """The signed revision becomes the batch's current addendum document; the one before is superseded."""
        with self._lock:
            signed = self._signed.pop(signature.challenge_id, None)
        if signed is None:
            raise Conflict("The addendum revision was not prepared: approve the addendum again.")
        earlier = uow.documents.current(batch_pk, ADDENDUM)
        if earlier is not None:
            uow.documents.supersede(earlier.id)
        digest = hashlib.sha256(signed.pdf).hexdigest()
        return uow.documents.add(
            NewDocument(
                batch_pk, ADDENDUM, signed.record_hash, signed.pdf, digest, at, signature.signer_id, signature.id
            )
        )


def _content(
    uow: UnitOfWork, addendum_pk: int, signer: Actor, at: datetime
) -> tuple[dict[str, object], dict[str, bytes]]:
    """What the revision states: the batch, the decided record it follows, and every approved addendum with this one."""
    addendum = uow.decisions.addendum(addendum_pk)
    batch = uow.batches.by_pk(addendum.batch_id)
    decided = [d for d in uow.documents.for_batch(batch.id) if d.kind in DECIDED_KINDS and d.status == "current"]
    lines = []
    for earlier in uow.decisions.addenda(batch.id):
        approvals = [s for s in uow.signatures.for_object(ADDENDUM_OBJECT, str(earlier.id)) if s.meaning == "approved"]
        if earlier.id == addendum.id:
            lines.append(_line(uow, earlier.id, earlier.text, earlier.reason, earlier.added_by, earlier.added_at))
            lines[-1]["approval"] = {
                "signer": signer.full_name,
                "username": signer.username,
                "at": to_utc_text(at),
                "signature": "this document's PDF signature",
            }
        elif approvals:
            line = _line(uow, earlier.id, earlier.text, earlier.reason, earlier.added_by, earlier.added_at)
            first = approvals[0]
            line["approval"] = {
                "signer": first.signer_name,
                "username": first.signer_username,
                "at": to_utc_text(first.signed_at),
                "signature": first.id,
            }
            lines.append(line)
    document = decided[-1] if decided else None
    content: dict[str, object] = {
        "batch": batch.batch.id,
        "order": batch.batch.order,
        "product": batch.batch.product,
        "status": str(batch.batch.status),
        "decided_document": _document(document),
        "addenda": lines,
    }
    attachments = {"addenda.json": canonical_json(content)}
    if document is not None:
        attachments[f"{batch.batch.id}-{document.kind}-record.pdf"] = uow.documents.content(document.id)
    return content, attachments


def _line(uow: UnitOfWork, pk: int, text: str, reason: str, by: int, at: datetime) -> dict[str, object]:
    person = uow.users.get(by)
    return {
        "id": pk,
        "text": text,
        "reason": reason,
        "added_by": f"{person.full_name} ({person.username})",
        "added_at": to_utc_text(at),
    }


def _document(document: StoredDocument | None) -> Mapping[str, object] | None:
    if document is None:
        return None
    return {
        "kind": document.kind,
        "revision": document.revision,
        "sha256": document.sha256,
        "record_hash": document.record_hash,
        "created_at": to_utc_text(document.created_at),
    }
