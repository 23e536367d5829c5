"""The archive package of a closed batch (REC-06): readable and verifiable with standard tools, no application.

A zip holding the signed PDF/A-3 exactly as stored (it embeds the record JSON and BatchML), every addendum PDF,
the batch's audit trail as it stands now, the site CA that validates the signatures, a manifest with the SHA-256
of every member and the retention date (REC-04), a SHA256SUMS file and a README saying how to check it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ebr.app.context import Actor, AuditContext
from ebr.app.documents import sha256
from ebr.app.ports.documents import ADDENDUM, CURRENT, REJECTED, RELEASED, StoredDocument
from ebr.app.release import DECIDED
from ebr.app.services import Services
from ebr.domain.audit import Action, to_utc_text
from ebr.domain.errors import Conflict
from ebr.domain.retention import retention_until
from ebr.domain.signatures import canonical_json

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
README = "README.txt"
AUDIT_TRAIL = "audit-trail.json"
TRUST_ANCHOR = "site-ca.pem"
RETENTION_KEY = "retention.batch_record_years"

README_TEXT = """Archive package of batch {batch} ({status} on {decided}); keep until at least {until}.

Members
  {pdf}  the signed batch record (PDF/A-3) as stored at the decision; it embeds
      ebr-record.json (the canonical record: its SHA-256 is the record hash {record_hash}) and ebr-record.xml (BatchML)
  *-addendum-*.pdf  signed addenda after the decision, if any
  {trail}  the batch's audit trail when this package was made
  {ca}  the site signing CA: the trust anchor of every signature in the PDFs
  {manifest}  what this package is, with the SHA-256 and size of every other member
  {sums}  the same hashes for sha256sum

How to verify without the application
  1. sha256sum -c {sums}
  2. certutil -N -d sql:nss --empty-password
     certutil -A -d sql:nss -n site-ca -t CT,C,C -i {ca}
     pdfsig -nssdir sql:nss {pdf}     (expect: Signature is Valid, Certificate is Trusted)
  3. pdfdetach -saveall {pdf}; sha256sum ebr-record.json   (expect the record hash above)
"""


@dataclass(frozen=True)
class ArchivePackage:
    """The zip's bytes with what an operator needs to hear about it."""

    batch_id: str
    content: bytes
    sha256: str
    retention_until: str
    members: tuple[str, ...]


class ArchiveService:
    """Builds the archive package of a released or rejected batch; each package made is audited as an export."""

    def __init__(self, services: Services, trust_anchor_pem: str) -> None:
        self._services = services
        self._trust_anchor = trust_anchor_pem

    def package(self, actor: Actor, batch_id: str, reason: str) -> ArchivePackage:
        """Refuses a batch that is not closed or has no signed record PDF (Conflict)."""
        svc = self._services
        decided, pdfs = self._signed_documents(batch_id)
        record = svc.records.record(batch_id)
        years = svc.settings.current()[RETENTION_KEY]
        until = retention_until(decided.created_at, years).isoformat()
        files = {**pdfs, AUDIT_TRAIL: canonical_json({"audit_trail": record.get("audit_trail", [])})}
        files[TRUST_ANCHOR] = self._trust_anchor.encode()
        details = {
            "batch": batch_id,
            "status": decided.kind,
            "decided_at": to_utc_text(decided.created_at),
            "record_hash": decided.record_hash,
            "retention_until": until,
            "retention_basis": f"{RETENTION_KEY} = {years} years after the decision",
            "packaged_at": to_utc_text(svc.clock.now()),
        }
        members = _with_manifest(files, details, README_TEXT.format(**_readme_values(details, pdfs)))
        content = _zip(members, decided.created_at)
        self._audit(actor, batch_id, reason, content)
        return ArchivePackage(batch_id, content, sha256(content), until, tuple(members))

    def _signed_documents(self, batch_id: str) -> tuple[StoredDocument, dict[str, bytes]]:
        svc = self._services
        with svc.uow(AuditContext(Actor.system(), svc.clock.now())) as uow:
            batch = uow.batches.get(batch_id)
            if batch.batch.status not in DECIDED:
                raise Conflict(
                    f"Batch {batch_id} is {batch.batch.status}: only a released or rejected batch is archived."
                )
            documents = uow.documents.for_batch(batch.id)
            decided = [d for d in documents if d.kind in (RELEASED, REJECTED) and d.status == CURRENT]
            if not decided or decided[0].signature_id is None:
                raise Conflict(f"Batch {batch_id} has no signed record PDF to archive.")
            kept = [decided[0], *sorted((d for d in documents if d.kind == ADDENDUM), key=lambda d: d.revision)]
            pdfs = {_name(batch_id, d): uow.documents.content(d.id) for d in kept}
        for document in kept:
            if sha256(pdfs[_name(batch_id, document)]) != document.sha256:
                raise Conflict(f"Document {document.id} of batch {batch_id} no longer matches its SHA-256.")
        return decided[0], pdfs

    def _audit(self, actor: Actor, batch_id: str, reason: str, content: bytes) -> None:
        svc = self._services
        ctx = AuditContext(actor, svc.clock.now(), reason, extra={"batch": batch_id})
        with svc.uow(ctx) as uow:
            detail = f"archive package; sha256 {sha256(content)}; {len(content)} bytes"
            uow.audit.append(Action.EXPORT, "batch_record", batch_id, "archive", new=detail, reason=reason)
            uow.commit()


def _name(batch_id: str, document: StoredDocument) -> str:
    if document.kind == ADDENDUM:
        return f"{batch_id}-addendum-{document.revision}.pdf"
    return f"{batch_id}-{document.kind}.pdf"


def _readme_values(details: Mapping[str, str], pdfs: Mapping[str, bytes]) -> dict[str, str]:
    pdf = next(iter(pdfs))
    return {
        "batch": details["batch"],
        "status": details["status"],
        "decided": details["decided_at"],
        "until": details["retention_until"],
        "record_hash": details["record_hash"],
        "pdf": pdf,
        "trail": AUDIT_TRAIL,
        "ca": TRUST_ANCHOR,
        "manifest": MANIFEST,
        "sums": SUMS,
    }


def _with_manifest(files: dict[str, bytes], details: Mapping[str, str], readme: str) -> dict[str, bytes]:
    """Every member, the README included, hashed into the manifest and SHA256SUMS."""
    members = {**files, README: readme.encode()}
    listed = {name: {"sha256": sha256(data), "size": len(data)} for name, data in sorted(members.items())}
    manifest = json.dumps({**details, "members": listed}, indent=2, sort_keys=True) + "\n"
    sums = "".join(f"{entry['sha256']}  {name}\n" for name, entry in listed.items())
    return {**members, MANIFEST: manifest.encode(), SUMS: sums.encode()}


def _zip(members: Mapping[str, bytes], at: datetime) -> bytes:
    """Members in a fixed order, each stamped with the decision's time rather than the packaging time."""
    stamp = at.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(max(stamp[0], 1980), *stamp[1:]))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()
