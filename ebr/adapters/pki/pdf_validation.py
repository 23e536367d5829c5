"""Validation of the embedded PDF signatures with pyHanko against the given trust roots only (PDF-03, PDF-04).

Offline on purpose: the plant's validators must not reach out to the network, and the site CA publishes no
revocation service, so revocation checking stays in pyHanko's soft-fail mode.
"""

from __future__ import annotations

import io

from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import EmbeddedPdfSignature, SignatureCoverageLevel, validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from ebr.adapters.pki.event_loop import outside_event_loop
from ebr.app.ports.pdf_signing import PdfValidation
from ebr.domain.errors import InvalidInput

# Later revisions that only add signatures or their validation material leave a signature untouched in substance.
HARMLESS = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


def validate_pdf(pdf: bytes, trust_roots_pem: list[str]) -> list[PdfValidation]:
    """One judgement per signature, in signing order; the roots serve the signer and the time stamp alike."""
    roots = [cert for pem in trust_roots_pem for cert in load_certs_from_pemder_data(pem.encode())]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError) as exc:
        raise InvalidInput(f"The document is not a readable PDF: {exc}") from None
    return [_judge(signature, context) for signature in signatures]


def _judge(signature: EmbeddedPdfSignature, context: ValidationContext) -> PdfValidation:
    try:
        status = outside_event_loop(lambda: validate_pdf_signature(signature, context))
    except (PdfError, ValueError) as exc:  # pyHanko's validation errors are ValueErrors
        # a signature too damaged to evaluate is a failed signature, not a crash of the whole report
        return PdfValidation(False, False, False, False, "", None, None, False, True, f"unreadable signature: {exc}")
    timestamp = status.timestamp_validity
    return PdfValidation(
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        bottom_line=status.bottom_line,
        signer_subject=status.signing_cert.subject.human_friendly,
        signed_at=timestamp.timestamp if timestamp is not None else status.signer_reported_dt,
        timestamp_valid=None if timestamp is None else (timestamp.intact and timestamp.valid and timestamp.trusted),
        coverage_entire_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modified_after_signing=_modified(status),
        summary=status.summary(),
    )


def _modified(status: PdfSignatureStatus) -> bool:
    level = status.modification_level
    return level not in HARMLESS or status.docmdp_ok is False
