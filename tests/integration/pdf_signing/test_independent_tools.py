"""What poppler, an independent PDF implementation, sees in the signed record: pdfsig, pdftotext, pdffonts."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from ebr.app.ports.pdf_signing import PdfStamp
from tests.integration.pdf_signing.documents import Releaser, flip_one_byte_inside_a_stream, tool, write


def fonts(path: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) for each row of pdffonts; the columns after the name are read from the right."""
    rows = tool("pdffonts", path).splitlines()[2:]
    return [(row.split()[0], row.split()[-5]) for row in rows if row.strip()]


@pytest.mark.req("PDF-03")
def test_pdfsig_finds_the_signature_valid_and_the_certificate_trusted(
    tmp_path: Path, signed_pdf: bytes, nss_db: str
) -> None:
    report = tool("pdfsig", "-nssdir", nss_db, write(tmp_path, "signed.pdf", signed_pdf))
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signing Hash Algorithm: SHA-256" in report
    assert "Total document signed" in report
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report


@pytest.mark.req("PDF-03")
def test_pdfsig_reports_a_digest_mismatch_after_one_flipped_byte(
    tmp_path: Path, record_pdf: bytes, signed_pdf: bytes, nss_db: str
) -> None:
    tampered = flip_one_byte_inside_a_stream(signed_pdf, len(record_pdf))
    report = tool("pdfsig", "-nssdir", nss_db, write(tmp_path, "tampered.pdf", tampered))
    assert "Digest Mismatch" in report
    assert "Signature is Valid." not in report


def test_visible_stamp_prints_name_meaning_and_utc_time(tmp_path: Path, releaser: Releaser, record_pdf: bytes) -> None:
    local = datetime(2026, 5, 4, 11, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    signed = releaser.sign(record_pdf, PdfStamp("Rita Qualität-Łęcka", "Released", local))
    text = tool("pdftotext", "-layout", write(tmp_path, "signed.pdf", signed), "-")
    assert "Signed by: Rita Qualität-Łęcka" in text
    assert "Meaning: Released" in text
    assert "Time: 2026-05-04 09:30:15 UTC" in text


def test_every_font_is_embedded_the_stamp_font_included(tmp_path: Path, record_pdf: bytes, signed_pdf: bytes) -> None:
    before = fonts(write(tmp_path, "record.pdf", record_pdf))
    after = fonts(write(tmp_path, "signed.pdf", signed_pdf))
    assert len(after) == len(before) + 1  # the stamp's font
    assert all(embedded == "yes" for _, embedded in after)


def test_signed_record_keeps_its_pdfa_identification(signed_pdf: bytes) -> None:
    xmp = PdfFileReader(io.BytesIO(signed_pdf)).root["/Metadata"].data.decode()
    assert re.search(r"pdfaid:part(=\"|>)3", xmp)
    assert re.search(r"pdfaid:conformance(=\"|>)B", xmp)
