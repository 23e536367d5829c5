"""Stored documents for the tests of the storage rules, downloads and verification: no rendering involved."""

from __future__ import annotations

from ebr.app.context import Actor, AuditContext
from ebr.app.documents import sha256
from ebr.app.ports.documents import CANDIDATE, NewDocument, StoredDocument
from ebr.bootstrap import Runtime


def store(
    rt: Runtime, batch_id: str, pdf: bytes = b"%PDF-1.7 stored bytes", signature_id: int | None = None
) -> StoredDocument:
    """A document stored directly through the repository, as the release candidate job stores one."""
    now = rt.services.clock.now()
    with rt.services.uow(AuditContext(Actor.system(), now, "test set-up")) as uow:
        batch_pk = uow.batches.get(batch_id).id
        new = NewDocument(batch_pk, CANDIDATE, "0" * 64, pdf, sha256(pdf), now, None, signature_id)
        stored = uow.documents.add(new)
        uow.commit()
    return stored
