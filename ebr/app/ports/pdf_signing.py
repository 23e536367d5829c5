"""Port of the PDF signature: the releaser's embedded PAdES signature on the record PDF, and its validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ebr.app.ports.signing import WrappedKey


class TimestampUnavailable(Exception):
    """The configured time-stamping service gave no valid time stamp: nothing was signed (PDF-04)."""


@dataclass(frozen=True)
class PdfStamp:
    """The visible manifestation on the page: printed name, meaning and time (21 CFR 11.50(a))."""

    signer_name: str
    meaning_text: str
    at: datetime


@dataclass(frozen=True)
class PdfValidation:
    """One embedded signature as a validator judges it; `bottom_line` is the verdict to act on (PDF-03).

    `signed_at` is the time-stamping service's time when there is a time stamp, else the time the signer claimed.
    `modified_after_signing` is true when later revisions do more than add signatures or fill form fields.
    """

    intact: bool
    valid: bool
    trusted: bool
    bottom_line: bool
    signer_subject: str
    signed_at: datetime | None
    timestamp_valid: bool | None
    coverage_entire_file: bool
    modified_after_signing: bool
    summary: str


class PdfSigner(Protocol):
    """Signs a PDF with the user's own key as an incremental update, and validates the signatures of a PDF."""

    def sign_pdf(
        self,
        pdf: bytes,
        wrapped: WrappedKey,
        password: str,
        certificate_pem: str,
        stamp: PdfStamp,
        tsa_url: str = "",
    ) -> bytes: ...

    def validate_pdf(self, pdf: bytes, trust_roots_pem: list[str]) -> list[PdfValidation]: ...
