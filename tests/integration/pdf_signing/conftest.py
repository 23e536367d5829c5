"""Fixtures: a small PDF/A-3b record, a site CA with one enrolled releaser, a local TSA, an NSS store for pdfsig."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ebr.adapters.pki.keys import TEST_KDF, SitePki
from ebr.adapters.pki.pades import PadesSigner
from ebr.adapters.pki.tsa import LocalTsa
from ebr.app.ports.pdf_signing import PdfStamp
from tests.integration.pdf_signing.documents import PASSWORD, Releaser, render_pdfa


@pytest.fixture(scope="session")
def record_pdf() -> bytes:
    return render_pdfa()


@pytest.fixture(scope="session")
def releaser(tmp_path_factory: pytest.TempPathFactory) -> Releaser:
    pki = SitePki(tmp_path_factory.mktemp("pki"), TEST_KDF)
    enrollment = pki.enroll(17, "qa.rita", "Rita Qualität-Łęcka", PASSWORD, datetime.now(UTC))
    return Releaser(pki, enrollment, PadesSigner(pki))


@pytest.fixture(scope="session")
def stamp() -> PdfStamp:
    return PdfStamp("Rita Qualität-Łęcka", "Released", datetime(2026, 5, 4, 9, 30, 15, tzinfo=UTC))


@pytest.fixture(scope="session")
def signed_pdf(releaser: Releaser, record_pdf: bytes, stamp: PdfStamp) -> bytes:
    return releaser.sign(record_pdf, stamp)


@pytest.fixture(scope="session")
def tsa() -> Iterator[LocalTsa]:
    with LocalTsa() as service:
        yield service


@pytest.fixture(scope="session")
def nss_db(tmp_path_factory: pytest.TempPathFactory, releaser: Releaser) -> str:
    """An NSS certificate store for pdfsig that trusts only the site CA."""
    folder = tmp_path_factory.mktemp("nss")
    ca = folder / "site-ca.pem"
    ca.write_text(releaser.pki.ca_certificate_pem())
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{folder}", "-n", "site-ca", "-t", "CT,C,C", "-i", str(ca)], check=True
    )
    return f"sql:{folder}"
