"""The release candidate and its signature (MISSION: PDF signature).

Release is possible only when the stored candidate is the rendering of the record as it is now (same record hash).
At release, inside the request, the releaser's own key applies a PAdES signature to that candidate, with a visible
stamp and a time stamp where a time-stamping service is configured. The signing runs after the password was checked
and before the release transaction opens (it takes a fraction of a second); the release transaction then stores the
signed PDF, refusing if the candidate changed meanwhile.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime

from ebr.app.incidents import SystemFailure, record_failure
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
from ebr.app.ports.documents import NewDocument
from ebr.app.ports.review import ReleaseCandidateCheck
from ebr.app.record_evidence import system_context
from ebr.domain.errors import Conflict

CANDIDATE, RELEASED = "candidate", "released"
STAMP_MEANING = "Released by"


@dataclass(frozen=True)
class _Signed:
    candidate_id: int
    record_hash: str
    pdf: bytes


class CandidatePdf:
    """The candidate check of a release, and the releaser's PAdES signature on the candidate."""

    def __init__(
        self, uow: UnitOfWorkFactory, check: ReleaseCandidateCheck, signer: PdfSigner, tsa_url: str = ""
    ) -> None:
        self._uow = uow
        self._check = check
        self._signer = signer
        self._tsa_url = tsa_url
        self._signed: dict[str, _Signed] = {}  # by signing challenge, between the password check and the release
        self._lock = threading.Lock()

    def blocker(self, uow: UnitOfWork, batch_pk: int) -> str | None:
        """Why the candidate cannot be released now (none, or rendered from an earlier record), or None."""
        return self._check.blocker(uow, batch_pk)

    def prepare(
        self, challenge_id: str, decision_pk: int, key: StoredKey, password: str, signer_name: str, at: datetime
    ) -> None:
        """Sign the current candidate with the releaser's key; kept until the release transaction stores it."""
        with self._uow(system_context(at)) as uow:
            batch_pk = uow.decisions.decision(decision_pk).batch_id
            candidate = uow.documents.current(batch_pk, CANDIDATE)
            if candidate is None:
                return  # the release is refused by the candidate check, with its reason
            pdf = uow.documents.content(candidate.id)
        try:
            signed = self._signer.sign_pdf(
                pdf, key.wrapped, password, key.certificate_pem, PdfStamp(signer_name, STAMP_MEANING, at), self._tsa_url
            )
        except TimestampUnavailable as exc:
            self._time_stamp_failed(challenge_id, decision_pk, str(exc), at)
            raise Conflict(
                f"The time-stamping service did not answer ({exc}): nothing was released; try again."
            ) from None
        except KeyUnavailable:
            raise Conflict("Your signing key cannot be unlocked: nothing was released.") from None
        with self._lock:
            self._signed[challenge_id] = _Signed(candidate.id, candidate.record_hash, signed)

    def _time_stamp_failed(self, challenge_id: str, decision_pk: int, problem: str, at: datetime) -> None:
        """An incident in its own transaction (OPS-01): one per hour of outage, counting every refused release."""
        record_failure(
            self._uow,
            at,
            SystemFailure(
                f"tsa-unavailable:{at:%Y%m%dT%H}",
                "tsa_failure",
                "The time-stamping service failed at release signing",
                f"Release decision {decision_pk} was not signed: {problem}",
                challenge_id,
            ),
        )

    def store(self, uow: UnitOfWork, batch_pk: int, signature: StoredSignature, at: datetime) -> None:
        """Store the signed candidate as the released record; refused if the candidate changed while signing."""
        with self._lock:
            signed = self._signed.pop(signature.challenge_id, None)
        current = uow.documents.current(batch_pk, CANDIDATE)
        if signed is None or current is None or current.id != signed.candidate_id:
            raise Conflict("The release candidate changed while it was being signed: review it and release again.")
        digest = hashlib.sha256(signed.pdf).hexdigest()
        uow.documents.add(
            NewDocument(
                batch_pk, RELEASED, signed.record_hash, signed.pdf, digest, at, signature.signer_id, signature.id
            )
        )
