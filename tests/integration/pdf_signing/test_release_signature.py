"""The releaser's PAdES signature on the record PDF, judged by pyHanko's validator with the site CA as trust root."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from ebr.adapters.pki.keys import TEST_KDF, SitePki
from ebr.adapters.pki.tsa import LocalTsa
from ebr.app.ports import KeyUnavailable
from ebr.app.ports.pdf_signing import PdfStamp, TimestampUnavailable
from tests.integration.pdf_signing.documents import Releaser, append_update, flip_one_byte_inside_a_stream


@pytest.mark.req("PDF-03")
def test_release_signature_is_intact_valid_trusted_and_covers_the_entire_file(
    releaser: Releaser, signed_pdf: bytes
) -> None:
    [result] = releaser.signer.validate_pdf(signed_pdf, releaser.roots)
    assert (result.intact, result.valid, result.trusted, result.bottom_line) == (True, True, True, True)
    assert result.coverage_entire_file
    assert not result.modified_after_signing
    assert result.timestamp_valid is None
    assert "Rita Qualität-Łęcka" in result.signer_subject


@pytest.mark.req("PDF-03")
def test_signature_is_embedded_cades_sha256_with_signer_certificate_and_chain(
    releaser: Releaser, signed_pdf: bytes
) -> None:
    [embedded] = PdfFileReader(io.BytesIO(signed_pdf)).embedded_signatures
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded.md_algorithm == "sha256"
    carried = {choice.chosen.dump() for choice in embedded.signed_data["certificates"]}
    expected = {
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        for pem in (releaser.enrollment.certificate_pem, releaser.pki.ca_certificate_pem())
    }
    assert expected <= carried


def test_signing_appends_an_incremental_update(record_pdf: bytes, signed_pdf: bytes) -> None:
    assert signed_pdf.startswith(record_pdf)
    assert len(signed_pdf) > len(record_pdf)


@pytest.mark.req("PDF-03")
def test_flipping_one_byte_in_the_signed_range_fails_validation(
    releaser: Releaser, record_pdf: bytes, signed_pdf: bytes
) -> None:
    tampered = flip_one_byte_inside_a_stream(signed_pdf, len(record_pdf))
    [result] = releaser.signer.validate_pdf(tampered, releaser.roots)
    assert not result.intact
    assert not result.bottom_line


@pytest.mark.req("PDF-03")
def test_page_content_appended_after_signing_is_reported_as_a_modification(
    releaser: Releaser, signed_pdf: bytes
) -> None:
    [result] = releaser.signer.validate_pdf(append_update(signed_pdf, "content"), releaser.roots)
    assert result.intact and result.valid and result.trusted  # the signed bytes themselves are untouched
    assert not result.coverage_entire_file
    assert result.modified_after_signing
    assert not result.bottom_line


def test_annotation_appended_after_signing_is_reported_as_a_modification(releaser: Releaser, signed_pdf: bytes) -> None:
    [result] = releaser.signer.validate_pdf(append_update(signed_pdf, "annotation"), releaser.roots)
    assert result.modified_after_signing
    assert not result.coverage_entire_file
    assert not result.bottom_line


def test_a_later_signature_gets_its_own_field_and_leaves_the_first_valid(
    releaser: Releaser, signed_pdf: bytes, stamp: PdfStamp
) -> None:
    twice = releaser.sign(signed_pdf, PdfStamp("Rita Qualität-Łęcka", "Addendum approved", stamp.at))
    first, second = releaser.signer.validate_pdf(twice, releaser.roots)
    assert first.bottom_line and not first.modified_after_signing and not first.coverage_entire_file
    assert second.bottom_line and second.coverage_entire_file
    names = [s.field_name for s in PdfFileReader(io.BytesIO(twice)).embedded_signatures]
    assert len(set(names)) == 2


def test_a_signature_under_another_root_is_not_trusted(tmp_path: Path, releaser: Releaser, signed_pdf: bytes) -> None:
    other_site = SitePki(tmp_path, TEST_KDF).ca_certificate_pem()
    [result] = releaser.signer.validate_pdf(signed_pdf, [other_site])
    assert result.intact and not result.trusted and not result.bottom_line


@pytest.mark.req("PDF-04")
def test_time_stamp_from_the_configured_service_validates(
    releaser: Releaser, record_pdf: bytes, stamp: PdfStamp, tsa: LocalTsa
) -> None:
    signed = releaser.sign(record_pdf, stamp, tsa.url)
    [result] = releaser.signer.validate_pdf(signed, [*releaser.roots, tsa.root_certificate_pem()])
    assert result.timestamp_valid is True
    assert result.bottom_line
    assert result.signed_at is not None
    assert abs(result.signed_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_time_stamp_from_an_untrusted_service_fails_validation(
    releaser: Releaser, record_pdf: bytes, stamp: PdfStamp, tsa: LocalTsa
) -> None:
    [result] = releaser.signer.validate_pdf(releaser.sign(record_pdf, stamp, tsa.url), releaser.roots)
    assert result.timestamp_valid is False
    assert not result.bottom_line


@pytest.mark.error_handling("tsa_unavailable")
def test_unreachable_time_stamping_service_refuses_the_signature(
    releaser: Releaser, record_pdf: bytes, stamp: PdfStamp
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TimestampUnavailable):
        releaser.sign(record_pdf, stamp, f"http://127.0.0.1:{port}/")


def test_wrong_password_is_refused_and_nothing_is_signed(
    releaser: Releaser, record_pdf: bytes, stamp: PdfStamp
) -> None:
    e = releaser.enrollment
    with pytest.raises(KeyUnavailable):
        releaser.signer.sign_pdf(record_pdf, e.wrapped, "not-the-password", e.certificate_pem, stamp)


def test_a_certificate_of_another_key_is_refused(releaser: Releaser, record_pdf: bytes, stamp: PdfStamp) -> None:
    other = releaser.pki.enroll(18, "qa.other", "Other Person", "Other-Secret-1", datetime.now(UTC))
    e = releaser.enrollment
    with pytest.raises(KeyUnavailable):
        releaser.signer.sign_pdf(record_pdf, e.wrapped, "Release-Secret-42", other.certificate_pem, stamp)
