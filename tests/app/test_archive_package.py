"""A closed batch leaves as a self-contained archive package that standard tools read and verify (REC-06): the
checking part below uses zipfile, hashlib, json, pypdf, certutil and pdfsig only, never the application."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from ebr.adapters.modbus.simulator import SimulatedPlant
from ebr.adapters.pki.keys import SitePki
from ebr.bootstrap import Runtime
from ebr.config import Settings
from tests.app.records_support import released_batch
from tests.app.review_support import in_review
from tests.cli.test_verify_audit import ebr
from tests.web.support import set_setting


def _unpack(path: Path, folder: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        folder.mkdir()
        package.extractall(folder)
        return {name: package.read(name) for name in package.namelist()}


def _pdfsig(pdf: Path, ca: Path, folder: Path) -> str:
    """pdfsig's report, trusting only the CA that came in the package."""
    nss = folder / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "ca", "-t", "CT,C,C", "-i", str(ca)], check=True)
    done = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True, check=False)
    return done.stdout


@pytest.mark.req("REC-06")
def test_the_archive_package_verifies_with_standard_tools_alone(
    runtime: Runtime, settings: Settings, plant: SimulatedPlant, tmp_path: Path
) -> None:
    batch_id = released_batch(runtime, plant)
    out = tmp_path / f"{batch_id}.zip"

    result = ebr(settings, "archive", batch_id, str(out))
    assert result.exit_code == 0, result.output

    members = _unpack(out, tmp_path / "unpacked")
    manifest = json.loads(members["manifest.json"])
    listed = manifest["members"]
    assert set(listed) == set(members) - {"manifest.json", "SHA256SUMS"}
    assert all(hashlib.sha256(members[n]).hexdigest() == entry["sha256"] for n, entry in listed.items())
    sums = dict(reversed(line.split("  ", 1)) for line in members["SHA256SUMS"].decode().splitlines())
    assert sums == {name: entry["sha256"] for name, entry in listed.items()}
    assert (manifest["batch"], manifest["status"]) == (batch_id, "released")
    decided = date.fromisoformat(manifest["decided_at"][:10])
    assert manifest["retention_until"] == decided.replace(year=decided.year + 5).isoformat()

    pdf_name = f"{batch_id}-released.pdf"
    reader = PdfReader(io.BytesIO(members[pdf_name]))
    embedded = {name: contents[0] for name, contents in reader.attachments.items()}
    assert hashlib.sha256(embedded["ebr-record.json"]).hexdigest() == manifest["record_hash"]
    assert json.loads(embedded["ebr-record.json"])["audit_trail"]
    trail = json.loads(members["audit-trail.json"])["audit_trail"]
    assert len(trail) >= len(json.loads(embedded["ebr-record.json"])["audit_trail"])

    folder = tmp_path / "unpacked"
    report = _pdfsig(folder / pdf_name, folder / "site-ca.pem", tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
    assert "pdfsig" in members["README.txt"].decode() and "sha256sum -c SHA256SUMS" in members["README.txt"].decode()


@pytest.mark.req("REC-06")
def test_the_package_carries_the_retention_in_force_and_exposes_a_changed_member_or_a_foreign_ca(
    runtime: Runtime, settings: Settings, plant: SimulatedPlant, tmp_path: Path
) -> None:
    batch_id = released_batch(runtime, plant)
    set_setting(runtime, "retention.batch_record_years", 7)
    out = tmp_path / "package.zip"
    assert ebr(settings, "archive", batch_id, str(out)).exit_code == 0
    members = _unpack(out, tmp_path / "unpacked")
    manifest = json.loads(members["manifest.json"])
    decided = date.fromisoformat(manifest["decided_at"][:10])
    assert manifest["retention_until"] == decided.replace(year=decided.year + 7).isoformat()  # the setting in force
    listed = manifest["members"]
    trail = members["audit-trail.json"].replace(b'"', b"'", 1)
    assert hashlib.sha256(trail).hexdigest() != listed["audit-trail.json"]["sha256"]

    foreign = tmp_path / "foreign-ca.pem"
    foreign.write_text(SitePki(tmp_path / "other-instance").ca_certificate_pem())  # another site's CA
    report = _pdfsig(tmp_path / "unpacked" / f"{batch_id}-released.pdf", foreign, tmp_path)
    assert "Certificate is Trusted." not in report


def test_only_a_released_or_rejected_batch_is_archived(
    runtime: Runtime, settings: Settings, plant: SimulatedPlant, tmp_path: Path
) -> None:
    floor = in_review(runtime, plant)
    out = tmp_path / "package.zip"

    result = ebr(settings, "archive", floor.batch_id, str(out))

    assert result.exit_code == 1
    assert "only a released or rejected batch is archived" in result.output
    assert not out.exists()
