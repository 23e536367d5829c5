"""Embedded PAdES signature with the user's own key (PDF-03, PDF-04): an incremental update with a visible stamp.

It lives beside the key store because only this adapter may unwrap a user's key. Each signature gets a new field,
so an already signed file can be signed again (a later signature leaves the earlier ones valid).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no type information
from fontTools.ttLib.scaleUpem import scale_upem  # type: ignore[import-untyped]  # as above
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import CertificateStore, SimpleCertificateStore

from ebr.adapters.pki.event_loop import outside_event_loop
from ebr.adapters.pki.keys import SitePki
from ebr.adapters.pki.pdf_validation import validate_pdf
from ebr.app.ports import KeyUnavailable, WrappedKey
from ebr.app.ports.pdf_signing import PdfStamp, PdfValidation, TimestampUnavailable
from ebr.domain.errors import InvalidInput

# A Debian system font (fonts-dejavu-core): PDF/A forbids the default, non-embedded Courier of pyHanko stamps.
DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_SIZE = 8
STAMP_TEXT = "Signed by: %(printed_name)s\nMeaning: %(meaning)s\nTime: %(utc_time)s"
TSA_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class StampArea:
    """Where stamps go on the last page (PDF points from the lower left): a grid filled left to right, bottom up,
    so each further signature lands beside or above the previous one. The record template keeps this area free."""

    left: int = 36
    bottom: int = 36
    width: int = 250
    height: int = 56
    gap: int = 12
    columns: int = 2

    def box(self, index: int) -> tuple[int, int, int, int]:
        """The rectangle of the index-th signature on the page."""
        row, column = divmod(index, self.columns)
        x = self.left + column * (self.width + self.gap)
        y = self.bottom + row * (self.height + self.gap)
        return x, y, x + self.width, y + self.height


class PadesSigner:
    """Implements ports.PdfSigner: SHA-256, /ETSI.CAdES.detached, signer certificate and site CA embedded."""

    def __init__(self, pki: SitePki, font_file: Path = DEFAULT_FONT, area: StampArea | None = None) -> None:
        self._pki = pki
        self._font_file = font_file
        self._area = area or StampArea()

    def sign_pdf(
        self,
        pdf: bytes,
        wrapped: WrappedKey,
        password: str,
        certificate_pem: str,
        stamp: PdfStamp,
        tsa_url: str = "",
    ) -> bytes:
        """The PDF with one more signature appended; KeyUnavailable on a wrong password (nothing is signed)."""
        return self.sign_with_key(pdf, self._pki.unwrap(wrapped, password), certificate_pem, stamp, tsa_url)

    def sign_with_key(
        self, pdf: bytes, key: ec.EllipticCurvePrivateKey, certificate_pem: str, stamp: PdfStamp, tsa_url: str = ""
    ) -> bytes:
        """sign_pdf once the key is unwrapped (kept apart so the cost of the password KDF can be measured alone)."""
        if stamp.at.tzinfo is None:
            raise ValueError("the stamp time must be timezone-aware")
        signer = _signer(key, certificate_pem, self._pki.ca_certificate_pem())
        writer = _writer(pdf)
        name, index = _next_field(writer)
        meta = signers.PdfSignatureMetadata(
            field_name=name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=stamp.meaning_text,
            name=stamp.signer_name,
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            timestamper=HTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT_SECONDS) if tsa_url else None,
            stamp_style=_stamp_style(self._font_file),
            new_field_spec=_field_spec(name, self._area.box(index)),
        )
        try:
            out = outside_event_loop(lambda: pdf_signer.sign_pdf(writer, appearance_text_params=_stamp_params(stamp)))
        except TimestampRequestError as exc:
            raise TimestampUnavailable(f"The time-stamping service did not give a time stamp: {exc}") from None
        signed: bytes = out.getvalue()
        return signed

    def validate_pdf(self, pdf: bytes, trust_roots_pem: list[str]) -> list[PdfValidation]:
        """One judgement per embedded signature (see pdf_validation)."""
        return validate_pdf(pdf, trust_roots_pem)


def _signer(key: ec.EllipticCurvePrivateKey, certificate_pem: str, ca_pem: str) -> signers.SimpleSigner:
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    if certificate.public_key() != key.public_key():
        # pyHanko would sign anyway and produce a signature no validator accepts
        raise KeyUnavailable("The signing key does not belong to this certificate.")
    der = certificate.public_bytes(serialization.Encoding.DER)
    return signers.SimpleSigner(
        signing_cert=next(load_certs_from_pemder_data(der)),
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=certificate_store(load_certs_from_pemder_data(ca_pem.encode())),
    )


def certificate_store(certificates: Iterable[Any]) -> CertificateStore:
    """pyHanko's certificate store holding the given (asn1crypto) certificates."""
    store: CertificateStore = SimpleCertificateStore.from_certs(certificates)  # type: ignore[no-untyped-call]  # unannotated upstream
    return store


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf))
    except (PdfError, ValueError) as exc:
        raise InvalidInput(f"The document is not a readable PDF: {exc}") from None


def _next_field(writer: IncrementalPdfFileWriter) -> tuple[str, int]:
    """A field name no earlier signature used, and how many signature fields came before."""
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer)}
    index = len(taken)
    while f"Signature{index + 1}" in taken:
        index += 1
    return f"Signature{index + 1}", len(taken)


def _field_spec(name: str, box: tuple[int, int, int, int]) -> fields.SigFieldSpec:
    # No lock dictionary: pyHanko reads a lock's /P as a certification policy and would then reject the new
    # field of a later signature. Content changes after signing fail validation all the same.
    return fields.SigFieldSpec(sig_field_name=name, on_page=-1, box=box)


def _stamp_params(stamp: PdfStamp) -> dict[str, str]:
    return {
        "printed_name": stamp.signer_name,
        "meaning": stamp.meaning_text,
        "utc_time": stamp.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _stamp_style(font_file: Path) -> TextStampStyle:
    # The same size for glyph layout and box keeps multi-line stamps from drifting (pyHanko issue #733).
    font = _MemoryFont(_font_at_1000_upem(font_file), FONT_SIZE)
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(font=font, font_size=FONT_SIZE),
        border_width=1,
    )


@lru_cache(maxsize=4)
def _font_at_1000_upem(font_file: Path) -> bytes:
    """The font prepared once per process (about a second for DejaVu Sans).

    Rescaled to 1000 units per em: pyHanko 0.38 writes glyph widths in font units where PDF expects thousandths of
    an em, so a 2048-unit font would print stretched, its letters spaced out. Without GPOS (kerning, mark
    placement): decoding it on every signature's subsetting cost more than half of the signature."""
    font = TTFont(font_file)
    for table in ("FFTM", "GPOS"):  # FFTM: a FontForge timestamp the subsetter complains about on every stamp
        if table in font:
            del font[table]
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class _MemoryFont(FontEngineFactory):
    """pyHanko's glyph accumulator over font bytes held in memory (its own factory opens a file it never closes)."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: object = None) -> GlyphAccumulator:
        return GlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(self._data), font_size=self._size, obj_stream=obj_stream
        )
